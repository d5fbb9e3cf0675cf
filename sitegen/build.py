"""The build pipeline: listings in, a site on disk out."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from jinja2 import Environment

from . import feeds
from .config import RULES_FILE, Config
from .content import Page, read_notes, read_pages
from .diagnostics import BuildCancelled, BuildError, Diagnostic
from .indexing import SearchIndexing
from .inputs import fingerprint
from .listings import Listing, read_listings
from .metadata import METADATA_FILE, attach, read_metadata
from .output import SiteWriter, all_present, check_output_dir, read_state, write_state
from .papers import Paper, merge
from .parallel import GIVE_WAY, Forked, Workers, default_workers
from .related import RelatedCache, relate_again
from .environment import make_environment
from .pages import paper_page_parts, site_pages
from .renderer import PageCache, RenderReport, Reuse, note_files, render_pages
from .scaffold import placeholder_warnings
from .search import INDEX_DIR, SKIPPED, index_holds
from .siteview import Site, listing_title, listing_views, term_names
from .taxonomy import ClassifyCache, classify, infer_topics, load_rules, untagged
from .theme import Theme, asset_versions, site_theme


@dataclass(frozen=True)
class BuildResult:
    """What a build did, for the summary."""

    papers: int
    pages: int
    """HTML pages produced."""
    files: int
    written: tuple[str, ...]
    unchanged: int
    removed: tuple[str, ...]
    warnings: tuple[Diagnostic, ...]
    notes: tuple[str, ...]
    """Things worth telling that are not problems, e.g. an inferred year."""
    timings: tuple[tuple[str, float], ...]
    """Seconds per stage, in pipeline order. `search-start` writes stand-ins for the paper pages
    and starts the search indexer on them; `search` is what is left of its run after the write."""
    search: str = ""
    """What happened to the search index, for the summary (e.g. `search index: 175 pages`)."""
    unmatched: tuple[Diagnostic, ...] = ()
    """Rules that tag no paper (a note, not a warning)."""
    untagged: tuple[Diagnostic, ...] = ()
    """Papers without a topic (a note, not a warning)."""
    exact: bool = True
    """False after a quick build (`Scope.quick`) that kept the related papers, `papers.json`, feeds
    and sitemap of the last one: a build of the whole site brings the output to what a clean build writes."""


@dataclass
class BuildCache:
    """What a build keeps for the next build of the same site in this process.

    The preview server keeps one between rebuilds: a rebuild parses only the listings whose
    bytes changed, merges and classifies only papers whose entries changed, relates papers
    again only when a slug, title or abstract changed, and renders only the pages that read
    something that changed. Every part is keyed by all that it depends on, so the output is
    byte for byte what a clean build writes.
    """

    listings: dict = field(default_factory=dict)
    merged: dict = field(default_factory=dict)
    classified: ClassifyCache = field(default_factory=ClassifyCache)
    related: RelatedCache = field(default_factory=RelatedCache)
    metadata: dict = field(default_factory=dict)
    """Papers given their metadata, by id of the paper merged (`metadata.attach`)."""
    pages: PageCache = field(default_factory=PageCache)
    environment: tuple[object, Environment] | None = None
    """The template environment of the last build and what it was made from (`_read_by_every_page`):
    its compiled templates and the page parts it rendered once are kept while that is unchanged."""


@dataclass
class Stopwatch:
    """Times named stages; reports each as it ends when given a callback, and stops the build
    with BuildCancelled before a stage once `cancelled()` is true."""

    on_stage: Callable[[str, float], None] | None = None
    cancelled: Callable[[], bool] | None = None
    timings: list[tuple[str, float]] = field(default_factory=list)

    def check(self, name: str) -> None:
        """Stop the build before `name` (BuildCancelled) once `cancelled()` is true."""
        if self.cancelled and self.cancelled():
            raise BuildCancelled(name)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        self.check(name)
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.timings.append((name, elapsed))
        if self.on_stage:
            self.on_stage(name, elapsed)


@contextmanager
def fewer_collections(threshold: int = 10_000) -> Iterator[None]:
    """Run the garbage collector less often meanwhile: after `threshold` new objects, not 700.

    A build makes millions of objects and few cycles. With the default, the collector went
    through the whole corpus five times in a build of 10,000 papers (0.3-0.5 s, freeing
    nothing); with this, none. The threshold is the process's: it is put back afterwards.
    """
    old = gc.get_threshold()
    gc.set_threshold(threshold, *old[1:])
    try:
        yield
    finally:
        gc.set_threshold(*old)


@dataclass(frozen=True)
class Scope:
    """What a build brings up to date: by default the whole site, as a clean build writes it.

    The preview asks for less first, to show an edit sooner (`preview_build`)."""

    quick: bool = False
    """Related papers may be approximate (the last ones kept), and `papers.json`, the feeds, the
    sitemap and the search index are left as the last build wrote them: see `BuildResult.exact`."""
    only: frozenset[str] | None = None
    """Output paths (the pages open in the preview's browsers): render just these pages and leave
    every other file as it is. Only with `quick`."""

    def __post_init__(self) -> None:
        if self.only is not None and not self.quick:
            raise ValueError("a build of some pages is a quick one: Scope(quick=True, only=...)")


WHOLE_SITE = Scope()


@dataclass(frozen=True)
class Sources:
    """What the build read: the listings, the site's own pages, the metadata entries."""

    listings: list[Listing]
    pages: list[Page]
    entries: dict
    """`content/metadata.toml`'s entries (`metadata.read_metadata`)."""
    warnings: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class Corpus:
    """The papers merged from the listings, with their metadata; the notes on them."""

    papers: list[Paper]
    notes: dict[str, str]
    """Rendered note HTML by paper slug."""
    warnings: tuple[Diagnostic, ...]
    """The sources' warnings and the merge's."""


@fewer_collections()
def build(config: Config, out_dir: Path, *, search: bool = True, strict: bool = False, force: bool = False,
          on_stage: Callable[[str, float], None] | None = None, workers: int | None = None,
          cache: BuildCache | None = None, scope: Scope = WHOLE_SITE, cancelled: Callable[[], bool] | None = None,
          on_write: Callable[[tuple[str, ...]], None] | None = None) -> BuildResult:
    """Read, merge, render and write the site; raise BuildError before writing anything if it fails.

    `workers` processes share the work of the slow stages (default: one per CPU); the output
    does not depend on it. `cache` is what the last build in this process left (the preview
    server's), `scope` how much of the site to bring up to date (`Scope`). `on_write(paths)`
    is told the files written or removed as soon as they are on disk (before the search index).
    When nothing the build reads changed since the last complete build into `out_dir` and all
    its files are there, nothing is done. Once `cancelled()` is true, the build stops with
    BuildCancelled: at the next stage, or while it waits for the related papers, renders or
    runs the search indexer.
    """
    check_output_dir(out_dir, config.root, force=force)
    workers, watch = Workers(workers or default_workers(), cancelled=cancelled), Stopwatch(on_stage, cancelled)
    keep, cache = cache is not None, cache if cache is not None else BuildCache()  # a one-off build keeps nothing
    theme = site_theme(config.root)
    with watch.stage("check"):
        inputs = fingerprint(config, theme)
        last = _unchanged_since(out_dir, inputs, search, strict)
    if last is not None:
        return BuildResult(**last, written=(), removed=(), timings=tuple(watch.timings))
    with watch.stage("parse"):
        sources = read_sources(config, cache)
    with watch.stage("merge"):
        corpus = merge_sources(sources, config, cache)
    indexing = search and not scope.quick
    with ExitStack() as running:
        relating = running.enter_context(_start_relating(corpus.papers, cache, scope, indexing))
        with watch.stage("classify"):
            classified = classify(corpus.papers, load_rules(config.rules_file, RULES_FILE), cache=cache.classified,
                                  workers=workers.count, nice=0 if indexing else GIVE_WAY, cancelled=cancelled)
        looks = _presentation(theme, config, classified.taxonomy, cache)
        site = Site(config, tuple(classified.papers), listing_views(sources.listings, classified.papers, config),
                    tuple(sources.pages), corpus.notes, classified.taxonomy, related=None)  # not known yet
        index = running.enter_context(SearchIndexing(out_dir, inputs, looks.theme_files()))
        if indexing and not (keep and cache.pages.holds(looks.every_page, out_dir)):
            with watch.stage("search-start"):  # every page renders anew: Pagefind starts now, on stand-ins
                index.start(looks.env, paper_page_parts(site), config.root, config.language, workers.count)
        with watch.stage("relate"):  # what is left of it once the papers are classified
            related, exact = relating.result(cancelled)
            site = replace(site, papers=tuple(infer_topics(site.papers, related)), related=related)
        writer = running.enter_context(SiteWriter(out_dir))  # staged files are removed unless committed
        with watch.stage("render"):
            reuse = Reuse(cache.pages, looks.every_page, partial=scope.only is not None) if keep else None
            rendered, whole = _render(site, looks, writer, scope, reuse, index,
                                      replace(workers, nice=GIVE_WAY if index.running else 0))
        exact = exact and whole
        _fail_if_strict(strict, corpus.warnings)
        html = sorted(path for path in writer.paths if path.endswith(".html"))
        with watch.stage("write"):
            report = writer.commit(keep=(INDEX_DIR + "/",), tidy=not scope.quick, prune=scope.only is None)
            note_files(cache.pages)
        if on_write:
            on_write(report.written + report.removed)
        indexed = SKIPPED  # an approximate build leaves the index to the exact one that follows
        if search and exact:
            with watch.stage("search"):
                indexed = index.finish(rendered.indexed, rendered.matched, html, report, cancelled)
    summary = _summary(site, sources.listings, corpus.warnings, classified.unmatched, len(html), len(writer.paths))
    if exact:
        _write_state(out_dir, inputs, summary)
    return BuildResult(**summary, written=report.written, unchanged=report.unchanged, removed=report.removed,
                       timings=tuple(watch.timings), search=indexed.message, exact=exact)


def read_sources(config: Config, cache: BuildCache) -> Sources:
    """Parse the listings (those whose bytes changed since `cache` was filled), pages and metadata."""
    years = {name: s.year for name, s in config.listings.items() if s.year}
    listings = read_listings(config.listings_dir, config.root, years, cache.listings)
    pages, problems = read_pages(config.content_dir / "pages", config.root)
    warnings = [d for listing in listings for d in listing.diagnostics] + problems
    warnings += placeholder_warnings(config.root)
    return Sources(listings, pages, read_metadata(config.root / METADATA_FILE), tuple(warnings))


def merge_sources(sources: Sources, config: Config, cache: BuildCache) -> Corpus:
    """One paper per title from the listings, given its metadata, and the notes on the papers."""
    papers, merged = merge(sources.listings, cache.merged)
    papers, attached = attach(papers, sources.entries, known=cache.metadata)
    notes, problems = read_notes(config.content_dir / "notes", config.root, {p.slug for p in papers})
    return Corpus(papers, notes, (*sources.warnings, *merged, *attached, *problems))


def _start_relating(papers: list[Paper], cache: BuildCache, scope: Scope, indexing: bool) -> closing[Forked]:
    """The related papers, computed meanwhile in one process (`related.relate_again`).

    With search (`indexing`), the indexer starts once the papers are classified and their
    stand-ins written, and the related papers are needed later, by the render: they give way.
    Without search, the classify workers give way to the related papers' process instead, which
    would otherwise finish last, alone on the machine (0.3-0.5 s at 10,000 papers).
    """
    return closing(relate_again(papers, cache.related, quick=scope.quick, nice=GIVE_WAY if indexing else 0))


@dataclass(frozen=True)
class Presentation:
    """What the pages are rendered with."""

    env: Environment
    assets: dict[str, bytes]
    """Static files by output path."""
    every_page: tuple
    """What any page may depend on besides its context (`_read_by_every_page`): templates,
    static files, settings, rules. The page cache's key."""

    def theme_files(self) -> list[bytes]:
        """The bytes of the templates and static files."""
        return [*(data for _, data in self.every_page[0]), *self.assets.values()]


def _presentation(theme: Theme, config: Config, taxonomy, cache: BuildCache) -> Presentation:
    """The static files and the template environment; the last build's environment, with its
    compiled templates and the page parts it rendered once, while what every page reads is unchanged."""
    assets = asset_versions(theme)
    every_page = _read_by_every_page(theme, assets, config, taxonomy)
    if cache.environment is None or cache.environment[0] != every_page:
        cache.environment = every_page, make_environment(theme, config, assets, taxonomy)
    return Presentation(cache.environment[1], assets, every_page)


def _render(site: Site, looks: Presentation, writer: SiteWriter, scope: Scope, reuse: Reuse | None,
            index: SearchIndexing, workers: Workers) -> tuple[RenderReport, bool]:
    """Stage the static files, the pages in `scope` and the data files; whether the data files
    were made too (not left as the last build wrote them)."""
    for path, data in looks.assets.items():
        writer.add(path, data)
    jobs = site_pages(site, looks.env, scope.only)
    last_data = [p for p in sorted(writer.previous) if feeds.is_data_file(p)
                 and (writer.out_dir / p).is_file()] if scope.quick and scope.only is None else []
    with ExitStack() as beside:
        data_files = None
        if scope.only is None and "papers.json" not in last_data:
            # Made beside the render, in another process (0.8-0.9 s at 10,000 papers): of the
            # pages they need only the paths.
            data_files = beside.enter_context(closing(Forked(
                _stage_data_files, writer, site, {*writer.paths, *(job.path for job in jobs)},
                fork=workers.count > 1, nice=workers.nice)))
        rendered = render_pages(looks.env, jobs, writer, root=site.config.root, workers=workers, reuse=reuse,
                                search=index)
        if data_files is not None:
            for path, staged in data_files.result(workers.cancelled):
                writer.added(path, staged)
        elif scope.only is None:
            # No browser shows these: the preview keeps the last ones and the exact build that
            # follows writes them (at 10,000 papers they are a third of an edit's rebuild).
            for path in last_data:
                writer.keep(path)
    return rendered, data_files is not None


def _fail_if_strict(strict: bool, warnings: tuple[Diagnostic, ...]) -> None:
    """With `strict`, a BuildError printing every warning, one `file:line: message` line each."""
    if strict and warnings:
        first, *others = warnings
        raise BuildError(first.file, first.line, "".join(
            [first.message, *(f"\nerror: {warning}" for warning in others),
             f"\n--strict: {len(warnings)} warning(s) are errors; fix them or build without --strict"]
        )) from None


def _summary(site: Site, listings: list[Listing], warnings: tuple[Diagnostic, ...],
             unmatched: tuple[Diagnostic, ...], pages: int, files: int) -> dict:
    """What `BuildResult` and the state file say of a build of `site`: counts, warnings, notes."""
    taxonomy = site.taxonomy
    without_topic = untagged(list(site.papers), taxonomy)
    rules_note = () if taxonomy.terms else (
        f"{RULES_FILE}: no topic or hardware rules, so papers get no topics; a new site from "
        "`sitegen init` has the default rules to start from",)
    inferred = tuple(
        f"{listing.path}: dates without a year are taken to be in {listing.year} (inferred from the "
        f"newest year the listing names, plus one; set [listings.\"{Path(listing.path).name}\"] year "
        "in sitegen.toml to change it)"
        for listing in listings if listing.year_inferred)
    untitled = tuple(
        f"{view.listing.path}: has no title in sitegen.toml and no date, so pages call it {view.title!r}; "
        f"set [listings.\"{Path(view.listing.path).name}\"] title in sitegen.toml to name it"
        for view in site.listings if not view.listing.date and view.title == listing_title(view.listing))
    return dict(papers=len(site.papers), pages=pages, files=files, warnings=warnings,
                notes=rules_note + inferred + _classify_notes(unmatched, without_topic) + untitled,
                unmatched=unmatched, untagged=without_topic)


def _classify_notes(unmatched: tuple[Diagnostic, ...], without_topic: tuple[Diagnostic, ...]) -> tuple[str, ...]:
    """One line each for the rules that tag no paper and the papers left without a topic."""
    notes = []
    if unmatched:
        count = len(unmatched)
        notes.append(f"{RULES_FILE}: {count} rule{'s' * (count != 1)} tag no paper "
                     "(`sitegen build --verbose` lists them)")
    if without_topic:
        count = len(without_topic)
        notes.append(f"{count} paper{'s' * (count != 1)} {'have' if count != 1 else 'has'} no topic; add a phrase "
                     f"from {'their' if count != 1 else 'its'} title or abstract to a topic in {RULES_FILE} "
                     "(`sitegen build --verbose` lists them)")
    return tuple(notes)


def _stage_data_files(writer: SiteWriter, site: Site, pages: set[str]) -> list[tuple[str, bool]]:
    """Stage `papers.json`, the feeds and the sitemap of `site`, whose other files are `pages`;
    the path of each and whether it was staged (`SiteWriter.stage`)."""
    files = {"papers.json": feeds.papers_json(site.papers, site.related, site.config, term_names(site.taxonomy)),
             **feeds.crawler_files(site, pages)}
    return [(path, writer.stage(path, data)) for path, data in files.items()]


def _write_state(out_dir: Path, inputs: str, summary: dict) -> None:
    """Note what an exact build was made from and said, for `_unchanged_since` of the next one."""
    write_state(out_dir, {"inputs": inputs, **summary,
                          **{key: [[d.file, d.line, d.message] for d in summary[key]]
                             for key in ("warnings", "unmatched", "untagged")}})


def _unchanged_since(out_dir: Path, inputs: str, search: bool, strict: bool) -> dict | None:
    """The summary of the last build into `out_dir` if it was made from `inputs` and is all there.

    With `search`, its search index must have been brought up to date too. A `strict` build
    of inputs that gave warnings fails as it did.
    """
    state = read_state(out_dir)
    if (not state or state.get("inputs") != inputs or (search and not index_holds(out_dir, inputs))
            or not all_present(out_dir)):
        return None
    try:
        listed = {key: tuple(Diagnostic(file, line, message) for file, line, message in state[key])
                  for key in ("warnings", "unmatched", "untagged")}
        warnings = listed["warnings"]
        last = dict(papers=state["papers"], pages=state["pages"], files=state["files"], **listed,
                    notes=tuple(state["notes"]), unchanged=state["files"])
    except (KeyError, TypeError, ValueError):
        return None
    if strict and warnings:
        return None  # the full build reports them as errors
    return {**last, "search": "nothing changed; search index unchanged" if search else
            "nothing changed; search index not updated (--no-search)"}


def _read_by_every_page(theme: Theme, assets: dict[str, bytes], config: Config, taxonomy) -> tuple:
    """What any page may depend on besides its context: templates, static files, settings, rules."""
    templates = tuple((path.as_posix(), path.read_bytes()) for directory in theme.template_dirs
                      for path in sorted(directory.rglob("*")) if path.is_file())
    return templates, tuple(sorted(assets.items())), config, taxonomy
