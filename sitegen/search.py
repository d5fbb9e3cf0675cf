"""Search: a Pagefind index of the written pages.

Pagefind's own binary (shipped in the `pagefind[bin]` wheel) reads the HTML in the output
directory and writes its bundle into a temporary directory; `output.replace_subtree` then
swaps it in as `pagefind/`. When a build writes every paper page anew (into an empty
directory, or after a template change), it starts Pagefind on them as soon as they are
staged, and renders the other pages meanwhile (`Indexer`). Only pages marked
`data-pagefind-body` (the paper pages) are indexed; their `data-pagefind-filter`/`-sort`/
`-meta` attributes give the filters (topic, hardware, year), the sorts (date, upvotes) and
what a result shows.

Indexing is skipped when no indexed page was written or removed by this build (the writer's
report says which) and the index is newer than every indexed page and the manifest (which
catches pages written by a `--no-search` build, or by one stopped before indexing).
Pagefind's file names carry hashes that change from run to run: the bundle is the one part of
the output that is not reproducible.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import BuildError
from .output import (MANIFEST, WriteReport, link_files, read_state, remove_links, remove_subtree,
                     replace_subtree, write_state)

INDEX_DIR = "pagefind"
"""The bundle's directory in the output, as a URL path segment too: `<base path>pagefind/`."""
ENTRY_FILE = "pagefind-entry.json"
INDEX_STATE = f"{INDEX_DIR}/.sitegen-indexed"
"""Bookkeeping in the bundle: the fingerprint of the inputs of the pages it holds."""
INDEXED_MARK = b"data-pagefind-body"
"""Pages carrying this attribute are the ones Pagefind indexes."""
PAPER_PAGES = "papers/*/index.html"
"""Pagefind's glob for the paper pages (its `*` does not cross a `/`)."""
_PAPER_PAGE = re.compile(r"papers/[^/]+/index\.html")
READ_ALL = "[Reading languages]"
"""The progress line Pagefind prints once it has read and parsed every page."""


@dataclass(frozen=True)
class SearchResult:
    """What happened to the search index."""

    action: str
    """`indexed`, `unchanged`, `removed` or `skipped`."""
    pages: int | None
    """Pages in the index after the build, when known."""
    message: str
    """One line for the build summary."""


def update_index(out_dir: Path, indexed: list[str], html: list[str], report: WriteReport, *,
                 enabled: bool = True, inputs: str = "", started: Indexer | None = None) -> SearchResult:
    """Bring `out_dir/pagefind/` up to date with the pages just written.

    `indexed` are the pages the index holds (sorted), `html` every page of the build, `report`
    what the writer changed. Pagefind runs only when an indexed page was written or removed,
    or the index is missing or older than the pages (a build with `enabled=False`,
    `--no-search`, or one stopped before indexing); `started` is a run the build began early
    on these very pages. The index notes `inputs`, the fingerprint of what the build read (see
    `index_holds`).
    """
    if not enabled:
        return SearchResult("skipped", None, "search index not updated (--no-search)")
    if not indexed:
        remove_subtree(out_dir, INDEX_DIR)
        return SearchResult("removed", 0, "search index: no pages to index")
    if not pages_changed(indexed, report) and index_is_current(out_dir, indexed):
        result = SearchResult("unchanged", index_page_count(out_dir), "search index unchanged")
    else:
        try:
            pages = build_index(out_dir, indexed, html, started)
        except BuildError:
            remove_subtree(out_dir, INDEX_DIR)  # stale now: the next build must not keep it
            raise
        result = SearchResult("indexed", pages, f"search index: {pages} pages")
    write_state(out_dir, {"inputs": inputs}, INDEX_STATE)
    return result


def index_holds(out_dir: Path, inputs: str) -> bool:
    """Whether the index was made, or found up to date, by a build of the inputs `inputs`."""
    state = read_state(out_dir, INDEX_STATE)
    return bool(inputs) and state is not None and state.get("inputs") == inputs and index_exists(out_dir)


def pages_changed(indexed: list[str], report: WriteReport) -> bool:
    """Whether this write added, changed or removed a page that the index reads."""
    return (not set(indexed).isdisjoint(report.written)
            or any(path.endswith(".html") for path in report.removed))


def index_is_current(out_dir: Path, indexed: list[str]) -> bool:
    """Whether the index exists and is newer than the manifest and every page it indexes.

    Catches what one build's report cannot: pages written by an earlier `--no-search` build
    or by one that stopped before indexing (the manifest changes when pages are removed).
    """
    try:
        built = (out_dir / INDEX_DIR / ENTRY_FILE).stat().st_mtime_ns
        newest = max((out_dir / path).stat().st_mtime_ns for path in [MANIFEST, *indexed])
    except (OSError, ValueError):
        return False
    return newest <= built


def index_exists(out_dir: Path) -> bool:
    return (out_dir / INDEX_DIR / ENTRY_FILE).is_file()


def index_page_count(out_dir: Path) -> int | None:
    """Pages in the index at `out_dir/pagefind/`, from Pagefind's entry file."""
    try:
        entry = json.loads((out_dir / INDEX_DIR / ENTRY_FILE).read_text("utf-8"))
        return sum(int(language["page_count"]) for language in entry["languages"].values())
    except (OSError, ValueError, KeyError, TypeError):
        return None


def build_index(out_dir: Path, indexed: list[str], html: list[str], started: Indexer | None = None) -> int:
    """Run Pagefind over the `indexed` pages of `out_dir` and swap the new bundle in as
    `out_dir/pagefind/`; return its page count. `html` is every HTML page of the build.

    `started` is a run that began on the same pages while the build went on (see `Indexer`);
    it is used instead of a new one. Pagefind is shown the indexed pages only: it would
    otherwise parse every page of the site (term and listing pages are a third of the bytes),
    which doubles its time at 10,000 papers. A glob selects them when it matches exactly the
    indexed pages (the paper pages of the default theme); otherwise Pagefind reads a directory
    of hard links to them.
    """
    if started is not None:
        indexer, links = started, None
    elif paper_pages_only(indexed, html):
        indexer, links = Indexer(out_dir), None
    else:
        links = link_files(out_dir, indexed, "search-pages")
        indexer = Indexer(links, glob=None)
    try:
        pages = indexer.finish()
        replace_subtree(out_dir, INDEX_DIR, indexer.bundle)
        os.utime(out_dir / INDEX_DIR / ENTRY_FILE)  # newer than the pages and manifest, however early it began
    finally:
        indexer.close()
        if links is not None:
            remove_links(links)
    return pages


def paper_pages_only(indexed: list[str], pages: Iterable[str]) -> bool:
    """Whether `indexed` are exactly the paper pages (`is_paper_page`) among `pages`: Pagefind's glob finds them."""
    return sorted(filter(is_paper_page, pages)) == sorted(indexed)


def is_paper_page(path: str) -> bool:
    """Whether `path` is where the paper pages go, `papers/<slug>/index.html`."""
    return _PAPER_PAGE.fullmatch(path) is not None


class Indexer:
    """One Pagefind run over the HTML under `site_dir` (`glob`: the paper pages), started at once.

    A build may start it on the pages it has staged and go on rendering: `wait_until_read()`
    returns once Pagefind has read every page, after which they may be moved. `finish()` waits
    for the bundle (in `bundle`, a temporary directory) and returns its page count; `close()`
    stops the run if it is still going and removes the temporary directory.
    """

    def __init__(self, site_dir: Path, glob: str | None = PAPER_PAGES, pages: list[str] | None = None):
        self.pages = pages
        """The pages it was started on, when the caller said."""
        executable = pagefind_executable()
        self._temp = tempfile.TemporaryDirectory(prefix="sitegen-pagefind-")
        self.bundle = Path(self._temp.name) / INDEX_DIR
        self._log = Path(self._temp.name) / "pagefind.log"
        """Its output, in a file: it never waits for a reader, and no thread of ours reads a pipe."""
        # Not --quiet: its progress lines say when it has read the pages (READ_ALL).
        command = [str(executable), "--site", str(site_dir), *(["--glob", glob] if glob else []),
                   "--output-path", str(self.bundle)]
        try:
            with self._log.open("wb") as log:
                self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                                 stdin=subprocess.DEVNULL)
        except OSError as error:
            self._temp.cleanup()
            raise BuildError(str(executable), 0, f"could not run Pagefind: {error}; reinstall it with "
                             "pip install 'pagefind[bin]', or build with --no-search") from None

    def _output(self) -> str:
        return self._log.read_text("utf-8", errors="replace")

    def wait_until_read(self) -> None:
        """Return once Pagefind has read every page (or has ended)."""
        while self._process.poll() is None and READ_ALL not in self._output():
            time.sleep(0.02)

    def finish(self) -> int:
        """Wait for the run; its page count, or a BuildError if it failed."""
        try:
            returncode = self._process.wait(timeout=3600)
        except subprocess.TimeoutExpired:
            returncode = None
        if returncode != 0 or not (self.bundle / ENTRY_FILE).is_file():
            output = [line for line in self._output().splitlines() if line.strip()][-5:]
            raise BuildError(INDEX_DIR, 0, "Pagefind failed to index the site ("
                             + " / ".join(output or [f"exit status {returncode}"])
                             + "); the pages were written, the search index was removed; "
                             "fix the cause or build with --no-search")
        return index_page_count(self.bundle.parent) or 0

    def __enter__(self) -> Indexer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._temp.cleanup()


def pagefind_executable() -> Path:
    """The Pagefind binary: `$PAGEFIND_BINARY_PATH`, the one in the `pagefind_bin` wheel, or `pagefind` on PATH."""
    configured = os.environ.get("PAGEFIND_BINARY_PATH")
    if configured:
        return Path(configured)
    try:
        from pagefind_bin import get_executable
        return Path(get_executable())
    except (ImportError, FileNotFoundError):
        pass
    found = shutil.which("pagefind_extended") or shutil.which("pagefind")
    if found:
        return Path(found)
    raise BuildError(INDEX_DIR, 0, "the Pagefind binary is not installed; install it with "
                     "pip install 'pagefind[bin]', or build with --no-search")
