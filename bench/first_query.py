"""Bytes a reader downloads for a first search, with real Chromium, from a built site.

    python -m bench.first_query SITE_DIR [--query "gaussian splatting"]

Serves SITE_DIR (a `sitegen build` output with its search index) on localhost, opens
`search/?q=...`, waits for the first results with highlighted excerpts, and prints the bytes
of every response (as served, uncompressed, as Python's http.server sends them), in total
and for Pagefind's bundle (`pagefind/`), grouped by folder. A benchmark, run by hand.
"""

from __future__ import annotations

import argparse
import collections
import functools
import http.server
import threading
from pathlib import Path
from urllib.parse import quote_plus, urlsplit

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *_) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("site", type=Path)
    parser.add_argument("--query", default="gaussian splatting")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    handler = functools.partial(QuietHandler, directory=str(args.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    sizes: list[tuple[str, int]] = []

    def record(response) -> None:
        try:
            sizes.append((urlsplit(response.url).path, len(response.body())))
        except Exception:  # noqa: BLE001 - redirects have no body
            pass

    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.on("response", record)
            page.goto(f"http://127.0.0.1:{server.server_port}/search/?q={quote_plus(args.query)}")
            page.wait_for_selector("#search-results > li .search-excerpt mark", timeout=60_000)
            page.wait_for_load_state("networkidle")
            browser.close()
    finally:
        server.shutdown()
    folders = collections.Counter()
    for path, size in sizes:
        folders[path.rsplit("/", 1)[0] + "/"] += size
    print(f"first query {args.query!r}: {sum(s for _, s in sizes)} bytes in {len(sizes)} responses, "
          f"{sum(s for p, s in sizes if p.startswith('/pagefind/'))} of them from pagefind/")
    for folder, size in folders.most_common():
        print(f"  {folder:24} {size:8}")


if __name__ == "__main__":
    main()
