"""The renderer: the pages rendered on every core, and only those whose inputs changed.

`pages.site_pages()` says what to render: each page's output path, template and context.
`render_pages()` renders them into the writer. Many pages are split between forked worker
processes, which inherit the contexts and send back only bytes.

A page is rendered again only when something it read changed. While a page renders, the
site-wide objects in its context (the `Site`, listings, term views, lists and dicts) are
wrapped in `Watched` views that note each part the template reads: `site.papers | length`
notes the number of papers, `papers_by_slug[slug]` that one paper, a loop over a list the
whole list. What a page read, and the values it saw, are kept in a `PageCache` (the preview
server keeps one between builds). The next build looks the same parts up in the new
contexts: when every value is equal and the page's file on disk is the one written, the page
is kept as it is. Everything else a page can depend on (templates, static files, settings,
the topic and hardware rules) is the cache's `key`: when it changes, every page is rendered.
So a kept page holds the bytes a clean build would write, whatever the templates read.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import jinja2

from .diagnostics import BuildCancelled, BuildError
from .output import SiteWriter, file_info
from .pages import PageJob
from .parallel import Workers, fork_imap
from .search import INDEXED_MARK
from .siteview import WATCHED

MISSING = object()
"""What a look-up found where there was nothing."""
CHUNK = 64
"""Pages a worker renders at a time."""
CHECKED_BETWEEN = 1000
"""Pages checked for changes between questions whether the build is cancelled."""


@dataclass
class Rendered:
    """What a page read when it was last rendered, and where it was written."""

    reads: tuple[tuple, ...]
    """Each read as a path: context variable, then attributes, `("[]", key)` for an item,
    `("in", key)` for a membership test, `"#"` for a length, `"*"` for the whole value."""
    values: tuple
    """What each read found."""
    indexed: bool
    """Whether the page is one the search index holds."""
    file: tuple[int, int, int] | None = None
    """(size, mtime_ns, inode) of the written file, to notice a file changed behind our back."""


@dataclass
class PageCache:
    """The pages of the last build and what they read; kept by the preview server between builds."""

    key: object = None
    """Everything every page depends on besides its context (templates, assets, settings)."""
    out_dir: Path | None = None
    pages: dict[str, Rendered] = field(default_factory=dict)

    def holds(self, key: object, out_dir: Path) -> bool:
        """Whether it holds pages that a build with `key` into `out_dir` may keep."""
        return bool(self.pages) and self.key == key and self.out_dir == out_dir


@dataclass(frozen=True)
class Reuse:
    """What lets a build keep the pages of the last one (the preview's)."""

    cache: PageCache
    key: object
    """Everything every page depends on besides its context (templates, static files, settings, rules)."""
    partial: bool = False
    """The jobs are some of the site's pages: the cache keeps what it holds of the others."""


@dataclass(frozen=True)
class RenderReport:
    """What `render_pages` did."""

    indexed: tuple[str, ...]
    """Paths of the pages the search index holds, sorted."""
    rendered: int
    kept: int
    matched: frozenset[str] = frozenset()
    """The pages rendered this time that matched their search stand-ins (`SearchIndexing.see`)."""


class StandIns(Protocol):
    """What the render asks of the search index's stand-ins for the pages (`indexing.SearchIndexing`)."""

    def page(self, env: jinja2.Environment, template: str, context: dict, path: str) -> str | None:
        """The page at `path` rendered around the block its stand-in holds; None if it has none."""

    def see(self, path: str, page: bytes) -> bool:
        """Whether the rendered `page` gives the index what its stand-in gave."""


def render_pages(env: jinja2.Environment, jobs: list[PageJob], writer: SiteWriter, *, root: Path,
                 workers: Workers = Workers(), reuse: Reuse | None = None,
                 search: StandIns | None = None) -> RenderReport:
    """Render `jobs` into `writer` with `workers`, except pages `reuse` shows unchanged; update its cache.

    A page's reads of the context objects that reach many papers (`siteview.WATCHED`, lists and
    dicts) are noted part by part. With `workers.nice` the workers give
    way to another program (the search indexer): at a lower priority, they take the CPU it
    leaves. The workers stage the pages they render (`SiteWriter.stage`) and show each to
    `search` (`StandIns.see`); the report lists the pages it accepted. A page `search`
    holds a stand-in for takes the stand-in's block as it is, unless `reuse` is to note what
    the page read. A template error becomes a BuildError naming the template file and line
    (relative to `root`). Once `workers.cancelled()` is true, it stops with BuildCancelled, and
    the cache holds no page of this build.
    """
    cache, key, partial = (reuse.cache, reuse.key, reuse.partial) if reuse is not None else (None, None, False)
    cancelled = workers.cancelled
    if cache is not None and not cache.holds(key, writer.out_dir):
        cache.key, cache.out_dir, cache.pages = key, writer.out_dir, {}
    old = cache.pages if cache is not None else {}
    lookups: dict[tuple, object] = {}
    todo, indexed, kept = [], [], 0
    for number, job in enumerate(jobs):
        if cancelled and not number % CHECKED_BETWEEN and cancelled():  # the check takes 0.3 s at 10,000 papers
            raise BuildCancelled("render")
        entry = old.get(job.path)
        if (entry is not None and entry.file is not None and _unchanged(entry, job.context, lookups)
                and file_info(writer.out_dir, job.path) == entry.file):
            writer.keep(job.path)
            indexed += [job.path] if entry.indexed else []
            kept += 1
        else:
            todo.append(job)
    for name in dict.fromkeys(job.template for job in todo):  # compiled once, before the workers fork
        load_template(env, name, root)
    record = cache is not None

    around = search if search is not None and not record else None

    def render(chunk: Sequence[PageJob]) -> list[tuple[str, bool, bool, bool, tuple]]:
        """Each page of `chunk` rendered and staged: its path, whether it was staged (its bytes
        are new), is indexed and matches its search stand-in, and what it read."""
        results = []
        for job in chunk:
            path, data, reads = _render(env, job, root, record, around)
            results.append((path, writer.stage(path, data), INDEXED_MARK in data,
                            search is not None and search.see(path, data), reads))
        return results

    contexts = {job.path: job.context for job in todo}
    fresh: dict[str, Rendered] = {}
    matched: set[str] = set()
    share = Counter(job.template for job in todo)  # rare, long pages first: no worker is left with one at the end
    todo.sort(key=lambda job: share[job.template])
    for results in fork_imap(render, todo, workers=workers.count, chunk=CHUNK, nice=workers.nice,
                             cancelled=cancelled):
        for path, staged, is_indexed, is_matched, reads in results:
            writer.added(path, staged)
            if is_indexed:
                indexed.append(path)
            if is_matched:
                matched.add(path)
            if record:
                values = tuple(_look_up(contexts[path], read, lookups) for read in reads)
                fresh[path] = Rendered(reads, values, is_indexed)
    if cache is not None:  # call note_files() once the writer has committed
        pages = {job.path: fresh.get(job.path) or old[job.path] for job in jobs}
        if partial:
            cache.pages.update(pages)
        else:
            cache.pages = pages
    return RenderReport(tuple(sorted(indexed)), len(todo), kept, frozenset(matched))


def _render(env: jinja2.Environment, job: PageJob, root: Path, record: bool,
            search: StandIns | None) -> tuple[str, bytes, tuple]:
    """One page's bytes (around the block `search` holds of it, if any), and what it read (when `record`)."""
    reads = Reads(WATCHED)
    context = {name: reads.watch(value, (name,)) for name, value in job.context.items()} if record else job.context
    try:
        html = search.page(env, job.template, context, job.path) if search is not None else None
        if html is None:
            html = env.get_template(job.template).render(context)
    except jinja2.TemplateError as error:
        raise template_error(error, root) from None
    return job.path, html.encode("utf-8"), tuple(reads.paths) if record else ()


def load_template(env: jinja2.Environment, name: str, root: Path) -> None:
    """Compile template `name`; a BuildError naming its file and line if it has an error."""
    try:
        env.get_template(name)
    except jinja2.TemplateError as error:
        raise template_error(error, root) from None


def template_error(error: jinja2.TemplateError, root: Path) -> BuildError:
    """A BuildError naming the template file and line of a Jinja2 error."""
    if isinstance(error, jinja2.TemplateSyntaxError):
        return BuildError(_template_path(error.filename or error.name or "template", root), error.lineno or 0,
                          f"template syntax error: {error.message}")
    filename, line = "template", 0
    for frame, line_number in traceback.walk_tb(error.__traceback__):  # the innermost template frame
        if frame.f_code.co_filename.endswith((".html", ".xml", ".svg", ".txt", ".js")):
            filename, line = frame.f_code.co_filename, line_number
    return BuildError(_template_path(filename, root), line, f"template error: {error}; fix the template")


def _template_path(filename: str, root: Path) -> str:
    try:
        return Path(filename).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return filename


# --- Keeping unchanged pages ------------------------------------------------------------------

def _unchanged(entry: Rendered, context: dict, lookups: dict) -> bool:
    """Whether every read of a page finds what it found when the page was rendered."""
    found = tuple([context.get(read[0], MISSING) if len(read) == 1 else _look_up(context, read, lookups)
                   for read in entry.reads])
    if not _equal(found, entry.values):  # one comparison in C for most pages; else value by value
        for now, value in zip(found, entry.values):
            if now is not value and (now is MISSING or value is MISSING or not _equal(now, value)):
                return False
    entry.values = found  # the equal values of this build: let the old objects go
    return True


def _equal(a: object, b: object) -> bool:
    try:
        return bool(a == b)
    except Exception:  # noqa: BLE001 - values that cannot be compared count as changed
        return False


def _look_up(context: dict, read: tuple, lookups: dict) -> object:
    """What `read` finds in `context`, with look-ups shared between pages of one build."""
    root = context.get(read[0], MISSING)
    key = (id(root), read)  # pages share most roots (the site, the listings): each read is made once
    if key in lookups:
        return lookups[key][1]
    value = root
    for step in read[1:]:
        if value is MISSING:
            break
        value = _step(value, step)
    lookups[key] = (root, value)  # holds `root`, so its id is not reused meanwhile
    return value


def _step(value: object, step) -> object:
    if step == "*":
        return value
    if step == "#":
        return len(value)
    if isinstance(step, str):
        return getattr(value, step, MISSING)
    kind, key = step
    if kind == "in":
        return key in value
    try:
        return value[key]
    except (LookupError, TypeError):
        return MISSING


def note_files(cache: PageCache) -> None:
    """After the write: note each newly rendered page's file, to notice if anyone else changes it."""
    for path, entry in cache.pages.items():
        if entry.file is None:
            entry.file = file_info(cache.out_dir, path)


# --- Watching what a page reads -----------------------------------------------------------------

class Reads:
    """What one page reads, as paths (see `Rendered.reads`), in the order first read."""

    __slots__ = ("paths", "_types")

    def __init__(self, watched: tuple[type, ...]):
        self.paths: dict[tuple, None] = {}
        self._types = watched

    def note(self, path: tuple) -> None:
        self.paths[path] = None

    def watch(self, value: object, path: tuple) -> object:
        """`value`, found at `path`, as the template sees it: wrapped if it reaches many papers."""
        if isinstance(value, Mapping):
            return WatchedMapping(value, path, self)
        if isinstance(value, (list, tuple)):
            return WatchedSequence(value, path, self)
        if isinstance(value, self._types):
            return Watched(value, path, self)
        self.paths[path] = None
        return value


def unwrap(value: object) -> object:
    """The list, dict or object behind a watched one (for `tojson`), noting it is read whole."""
    if isinstance(value, Watched | WatchedSequence | WatchedMapping):
        return value._whole()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class Watched:
    """An object whose attributes a page reads one by one."""

    __slots__ = ("_value", "_path", "_reads")

    def __init__(self, value: object, path: tuple, reads: Reads):
        self._value, self._path, self._reads = value, path, reads

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        path = self._path + (name,)
        value = getattr(self._value, name, MISSING)
        if value is MISSING:
            self._reads.note(path)
            raise AttributeError(name)
        return self._reads.watch(value, path)

    def _whole(self) -> object:
        self._reads.note(self._path + ("*",))
        return self._value

    def __str__(self) -> str:
        return str(self._whole())

    def __eq__(self, other: object) -> bool:
        return self._whole() == (other._whole() if isinstance(other, Watched | WatchedSequence | WatchedMapping)
                                 else other)

    __hash__ = None


class WatchedSequence(Sequence):
    """A list or tuple: its length, or all of it."""

    __slots__ = ("_value", "_path", "_reads")

    def __init__(self, value: Sequence, path: tuple, reads: Reads):
        self._value, self._path, self._reads = value, path, reads

    def __len__(self) -> int:
        self._reads.note(self._path + ("#",))
        return len(self._value)

    def __bool__(self) -> bool:
        return len(self) > 0

    def _whole(self) -> Sequence:
        self._reads.note(self._path + ("*",))
        return self._value

    def __iter__(self) -> Iterator:
        return iter(self._whole())

    def __reversed__(self) -> Iterator:
        return reversed(self._whole())

    def __getitem__(self, index):
        return self._whole()[index]

    def __contains__(self, item: object) -> bool:
        return item in self._whole()

    def __add__(self, other: Iterable) -> list:
        return [*self._whole(), *other]

    def __radd__(self, other: Iterable) -> list:
        return [*other, *self._whole()]

    def __str__(self) -> str:
        return str(self._whole())

    def __eq__(self, other: object) -> bool:
        return self._whole() == (other._whole() if isinstance(other, WatchedSequence) else other)

    __hash__ = None


class WatchedMapping(Mapping):
    """A dict: one key at a time, its length, or all of it."""

    __slots__ = ("_value", "_path", "_reads")

    def __init__(self, value: Mapping, path: tuple, reads: Reads):
        self._value, self._path, self._reads = value, path, reads

    def __getitem__(self, key):
        path = self._path + (("[]", key),)
        try:
            value = self._value[key]
        except (LookupError, TypeError):
            self._reads.note(path)
            raise
        return self._reads.watch(value, path)

    def __contains__(self, key: object) -> bool:
        self._reads.note(self._path + (("in", key),))
        return key in self._value

    def __len__(self) -> int:
        self._reads.note(self._path + ("#",))
        return len(self._value)

    def _whole(self) -> Mapping:
        self._reads.note(self._path + ("*",))
        return self._value

    def __iter__(self) -> Iterator:
        return iter(self._whole())

    def __str__(self) -> str:
        return str(self._whole())

    def __eq__(self, other: object) -> bool:
        return self._whole() == (other._whole() if isinstance(other, WatchedMapping) else other)

    __hash__ = None
