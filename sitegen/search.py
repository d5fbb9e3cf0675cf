"""Search: a Pagefind index of the written pages.

Pagefind's own binary (shipped in the `pagefind[bin]` wheel) reads the HTML in the output
directory and writes its bundle into a temporary directory; `output.replace_subtree` then
swaps it in as `pagefind/`. Only pages marked `data-pagefind-body` (the paper pages) are
indexed; their `data-pagefind-filter`/`-sort`/`-meta` attributes give the filters (topic,
hardware, year), the sorts (date, upvotes) and what a result shows.

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
                 enabled: bool = True, inputs: str = "") -> SearchResult:
    """Bring `out_dir/pagefind/` up to date with the pages just written.

    `indexed` are the pages the index holds (sorted), `html` every page of the build, `report`
    what the writer changed. Pagefind runs only when an indexed page was written or removed,
    or the index is missing or older than the pages (a build with `enabled=False`,
    `--no-search`, or one stopped before indexing). The index notes `inputs`, the fingerprint
    of what the build read (see `index_holds`).
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
            pages = build_index(out_dir, indexed, html)
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


def build_index(out_dir: Path, indexed: list[str], html: list[str]) -> int:
    """Run Pagefind over the `indexed` pages of `out_dir` and swap the new bundle in as
    `out_dir/pagefind/`; return its page count. `html` is every HTML page of the build.

    Pagefind is shown the indexed pages only: it would otherwise parse every page of the site
    (term and listing pages are a third of the bytes), which doubles its time at 10,000 papers.
    A glob selects them when it matches exactly the indexed pages (the paper pages of the
    default theme); otherwise Pagefind reads a directory of hard links to them.
    """
    executable = pagefind_executable()
    use_glob = sorted(filter(_PAPER_PAGE.fullmatch, html)) == indexed
    with tempfile.TemporaryDirectory(prefix="sitegen-pagefind-") as temp:
        bundle = Path(temp) / INDEX_DIR
        site = out_dir if use_glob else link_files(out_dir, indexed, "search-pages")
        command = [str(executable), "--site", str(site), *(["--glob", PAPER_PAGES] if use_glob else []),
                   "--output-path", str(bundle), "--quiet"]
        try:
            result = subprocess.run(command, capture_output=True, text=True, errors="replace",
                                    timeout=3600, check=False)
        except OSError as error:
            raise BuildError(str(executable), 0, f"could not run Pagefind: {error}; reinstall it with "
                             "pip install 'pagefind[bin]', or build with --no-search") from None
        finally:
            if not use_glob:
                remove_links(site)
        if result.returncode != 0 or not (bundle / ENTRY_FILE).is_file():
            output = (result.stderr.strip() or result.stdout.strip()).splitlines()[-5:]
            raise BuildError(INDEX_DIR, 0, "Pagefind failed to index the site ("
                             + " / ".join(output or [f"exit status {result.returncode}"])
                             + "); the pages were written, the search index was removed; "
                             "fix the cause or build with --no-search")
        pages = index_page_count(Path(temp))
        replace_subtree(out_dir, INDEX_DIR, bundle)
    return pages or 0


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
