"""Time the preview server's rebuild after one edited title, in process, without a browser.

    python -m bench.quick_rebuild SOURCE [--edits 6]

Copies SOURCE (a site root, e.g. from `python -m bench.generate 10000 DIR`), builds it once
with a `BuildCache` as `sitegen serve` does, then edits one title N times. After each edit it
times the quick build (the one after which browsers reload) and runs the exact build that
follows, with the collector paused as the server does. Prints each quick build's stage times
and the median. A benchmark, run by hand.
"""

from __future__ import annotations

import argparse
import gc
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sitegen.build import BuildCache, build
from sitegen.preview_build import preview_build
from sitegen.config import load_config
from sitegen.listings import parse_listing


def title_to_edit(site: Path) -> tuple[Path, str, str]:
    """The first listing of `site`, its text, and a title in its second half to edit.

    The parser's title, so a listing page shows it whole (an abstract is cut short there), and
    one no other listing has: editing a merged paper's title in one listing splits it in two,
    and the new paper count is on every page.
    """
    listings = sorted((site / "content/listings").glob("*.txt"))
    text = listings[0].read_text("utf-8")
    entries = parse_listing(text, listings[0].name).entries
    every = "".join(path.read_text("utf-8") for path in listings)
    return listings[0], text, next(e.title for e in entries[len(entries) // 2:] if every.count(e.title) == 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("source", type=Path)
    parser.add_argument("--edits", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        site, out = Path(temp) / "site", Path(temp) / "out"
        shutil.copytree(args.source, site)
        listing, text, title = title_to_edit(site)
        cache = BuildCache()
        for quick in (True, False):  # the server's first build: quick, then exact
            preview_build(load_config(site), out, search=False, cache=cache, quick=quick)
        times = []
        for n in range(args.edits):
            listing.write_text(text.replace(title, f"{title} (edit {n})"), "utf-8")
            gc.disable()
            try:
                start = time.perf_counter()
                quick = preview_build(load_config(site), out, search=False, cache=cache, quick=True)
                times.append(time.perf_counter() - start)
                build(load_config(site), out, search=False, cache=cache)
            finally:
                gc.enable()
                gc.collect()
            stages = "  ".join(f"{name} {seconds:.3f}" for name, seconds in quick.timings)
            print(f"quick rebuild {times[-1]:.2f} s: {stages}; {len(quick.written)} files written", flush=True)
        print(f"median {statistics.median(times):.2f} s of {len(times)}")


if __name__ == "__main__":
    main()
