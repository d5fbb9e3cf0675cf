"""Time from saving a listing to the open page reloading, with `sitegen serve` and real Chromium.

    python -m bench.serve_reload [--saves 9] [--source DIR] [--pause S] [--page listing|paper]

Starts `sitegen serve` on a copy of the site (default: this repository's seed site), opens
a listing page in Chromium, then saves the listing with a changed title N times. With
`--page paper` it opens that paper's page instead and changes its abstract (a new title
would give the paper a new address). For each save it reports, in milliseconds after the save:

- `reload`: the reloaded page's `performance.timeOrigin` (the browser starts the new page);
- `shown`: the new page's DOMContentLoaded (the new title is on screen);

and the server's own log times (`pages written`, `built` incl. the search index). Medians
at the end. A benchmark, run by hand; the tests never assert on timings.
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saves", type=int, default=9)
    parser.add_argument("--source", type=Path, default=REPO)
    parser.add_argument("--pause", type=float, default=2.0, help="seconds between saves")
    parser.add_argument("--page", choices=["listing", "paper"], default="listing",
                        help="the page open in Chromium: the edited listing's or the edited paper's")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    from bench.quick_rebuild import title_to_edit

    with tempfile.TemporaryDirectory() as temp:
        site = Path(temp) / "site"
        site.mkdir()
        shutil.copy(args.source / "sitegen.toml", site)
        shutil.copytree(args.source / "content", site / "content")
        listing, text, title = title_to_edit(site)

        server = subprocess.Popen([sys.executable, "-m", "sitegen", "serve", "--source", str(site),
                                   "--port", "0"], cwd=REPO, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        log: list[tuple[float, str]] = []
        threading.Thread(target=lambda: [log.append((_log_time(line), line)) for line in server.stderr],
                         daemon=True).start()
        url = re.search(r"http://\S+", server.stdout.readline())[0]
        rows = []
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(url + "listings/")
                page.click(f"a[href$='{listing.stem.replace('_', '-')}/']")
                if args.page == "paper":
                    page.get_by_role("link", name=title, exact=True).first.click()
                    old = _abstract_line(text, title)
                for n in range(args.saves):
                    time.sleep(args.pause)
                    new = f"{title} (edit {n})" if args.page == "listing" else f"{old} Edit {n}."
                    seen = len(log)
                    saved = time.time() * 1000
                    listing.write_text(text.replace(title, new) if args.page == "listing"
                                       else text.replace(f"{title}\n\n{old}\n", f"{title}\n\n{new}\n"), "utf-8")
                    page.wait_for_function("t => document.body.textContent.includes(t)", arg=new,
                                           timeout=30_000)
                    origin, shown = page.evaluate(
                        "[performance.timeOrigin, performance.timeOrigin + "
                        "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd]")
                    time.sleep(args.pause / 2)
                    written = next((t for t, line in log[seen:] if "pages written" in line), None)
                    built = next((t for t, line in log[seen:] if " built in" in line), None)
                    row = {"reload": origin - saved, "shown": shown - saved,
                           "written": written and written - saved, "built": built and built - saved}
                    rows.append(row)
                    print("  ".join(f"{k} {v:6.0f} ms" for k, v in row.items() if v is not None), flush=True)
                browser.close()
        finally:
            server.terminate()
            server.wait()
        medians = {k: statistics.median(found) for k in rows[0]
                   if (found := [r[k] for r in rows if r[k] is not None])}
        print("median  " + "  ".join(f"{k} {v:6.0f} ms" for k, v in medians.items()))


def _abstract_line(text: str, title: str) -> str:
    """The abstract after `title` in a listing's text (a title line, a blank line, the abstract)."""
    lines = text.split("\n")
    at = lines.index(title)
    assert not lines[at + 1] and lines[at + 2], f"no abstract after {title!r}"
    return lines[at + 2]


def _log_time(line: str) -> float:
    """Epoch milliseconds of a `HH:MM:SS.mmm message` line of the server's log (today)."""
    match = re.match(r"(\d\d):(\d\d):(\d\d)\.(\d{3}) ", line)
    if not match:
        return float("nan")
    today = datetime.now().replace(hour=int(match[1]), minute=int(match[2]), second=int(match[3]),
                                   microsecond=int(match[4]) * 1000)
    return today.timestamp() * 1000


if __name__ == "__main__":
    main()
