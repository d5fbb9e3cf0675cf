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
from .content import read_notes, read_pages
from .diagnostics import BuildCancelled, BuildError, Diagnostic
from .listings import read_listings
from .metadata import METADATA_FILE, attach, read_metadata
from .inputs import fingerprint
from .output import SiteWriter, all_present, check_output_dir, read_state, write_state
from .papers import merge
from .parallel import Forked, default_workers
from .related import RelatedCache, relate_again
from .taxonomy import ClassifyCache, classify, infer_topics, load_rules, untagged
from .render import (WATCHED, Site, Theme, asset_versions, listing_title, listing_views, make_environment,
                     paper_page_parts, site_pages, site_theme, term_names)
from .rendering import GIVE_WAY, PageCache, block_renderer, note_files, render_pages
from .scaffold import placeholder_warnings
from .search import INDEX_DIR, INDEXED_BLOCK, SearchDocuments, index_holds, start_index, update_index, uses_ui


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
    """False after a `quick` build that kept the related papers, `papers.json`, feeds and sitemap
    of the last one: a second build without `quick` brings the output to what a clean build writes."""


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


@fewer_collections()
def build(config: Config, out_dir: Path, *, search: bool = True, strict: bool = False, force: bool = False,
          on_stage: Callable[[str, float], None] | None = None, workers: int | None = None,
          cache: BuildCache | None = None, quick: bool = False, only: frozenset[str] | None = None,
          cancelled: Callable[[], bool] | None = None,
          on_write: Callable[[tuple[str, ...]], None] | None = None) -> BuildResult:
    """Read, merge, render and write the site; raise BuildError before writing anything if it fails.

    `workers` processes share the work of the slow stages (default: one per CPU); the output
    does not depend on it. `cache` is what the last build in this process left (the preview
    server's); with `quick`, related papers are reused from it when the corpus changed (see
    `BuildResult.exact`), and `papers.json`, the feeds, the sitemap and the search index are
    left as they are for the exact build that should follow. With `only` (output paths, such as
    the pages open in the preview's browsers), a quick build renders just those pages and leaves
    every other file as it is. `on_write(paths)` is told the files written or removed as soon as
    they are on disk (before the search index).
    When nothing the build reads changed since the last complete build into `out_dir` and all
    its files are there, nothing is done. Once `cancelled()` is true, the build stops with
    BuildCancelled: at the next stage, or while it waits for the related papers, renders or
    runs the search indexer.
    """
    check_output_dir(out_dir, config.root, force=force)
    workers = workers or default_workers()
    keep = cache is not None  # a one-off build records nothing for a next one
    quick = quick or only is not None
    cache = cache if keep else BuildCache()
    watch = Stopwatch(on_stage, cancelled)
    theme = site_theme(config.root)
    with watch.stage("check"):
        inputs = fingerprint(config, theme)
        last = _unchanged_since(out_dir, inputs, search, strict)
    if last is not None:
        return BuildResult(**last, written=(), removed=(), timings=tuple(watch.timings))
    warnings: list[Diagnostic] = []
    with watch.stage("parse"):
        years = {name: s.year for name, s in config.listings.items() if s.year}
        listings = read_listings(config.listings_dir, config.root, years, cache.listings)
        warnings += [d for listing in listings for d in listing.diagnostics]
        pages, problems = read_pages(config.content_dir / "pages", config.root)
        warnings += problems
        warnings += placeholder_warnings(config.root)
        entries = read_metadata(config.root / METADATA_FILE)
    with watch.stage("merge"):
        papers, problems = merge(listings, cache.merged)
        warnings += problems
        papers, problems = attach(papers, entries, known=cache.metadata)
        warnings += problems
        notes, problems = read_notes(config.content_dir / "notes", config.root, {p.slug for p in papers})
        warnings += problems
    with ExitStack() as running:
        # The related papers are computed meanwhile, in one process. With search, the indexer starts
        # once the papers are classified and their stand-ins written, and the related papers are
        # needed later, by the render: they give way. Without search, the classify workers give
        # way to the related papers' process instead, which would otherwise finish last, alone on
        # the machine (0.3-0.5 s at 10,000 papers).
        indexing = search and not quick
        relating = running.enter_context(closing(relate_again(papers, cache.related, quick=quick,
                                                              nice=GIVE_WAY if indexing else 0)))
        with watch.stage("classify"):
            taxonomy = load_rules(config.rules_file, RULES_FILE)
            classified = classify(papers, taxonomy, cache=cache.classified, workers=workers,
                                  nice=0 if indexing else GIVE_WAY, cancelled=cancelled)
            papers, taxonomy = classified.papers, classified.taxonomy
        assets = asset_versions(theme)
        every_page = _read_by_every_page(theme, assets, config, taxonomy)
        if cache.environment is None or cache.environment[0] != every_page:
            cache.environment = every_page, make_environment(theme, config, assets)
        env = cache.environment[1]
        site = Site(config, tuple(papers), listing_views(listings, papers, config), tuple(pages), notes, taxonomy,
                    related=None)  # not known yet
        documents = None
        if search and not quick and not (keep and cache.pages.holds(every_page, out_dir)):
            # Every page renders anew: Pagefind starts now, on stand-ins for the paper pages.
            with watch.stage("search-start"):
                documents = _start_index(env, site, out_dir, config, workers)
                if documents is not None:
                    running.enter_context(documents)
        with watch.stage("relate"):  # what is left of it once the papers are classified
            related, exact = relating.result(cancelled)
            papers = infer_topics(papers, related)
        site = replace(site, papers=tuple(papers), related=related)
        writer = running.enter_context(SiteWriter(out_dir))  # staged files are removed unless committed
        with watch.stage("render"):
            for path, data in assets.items():
                writer.add(path, data)
            jobs = site_pages(site, env, only)
            give_way = GIVE_WAY if documents and documents.indexer else 0
            last_data = [p for p in sorted(writer.previous) if feeds.is_data_file(p)
                         and (out_dir / p).is_file()] if quick and only is None else []
            data_files = None
            if only is None and "papers.json" not in last_data:
                # Made beside the render, in another process (0.8-0.9 s at 10,000 papers): of the
                # pages they need only the paths.
                data_files = running.enter_context(closing(Forked(
                    _stage_data_files, writer, site, {*writer.paths, *(job.path for job in jobs)},
                    fork=workers > 1, nice=give_way)))
            rendered = render_pages(env, jobs, writer, root=config.root, watched=WATCHED,
                                    workers=workers, cache=cache.pages if keep else None, key=every_page,
                                    nice=give_way,
                                    matches=documents.matches if documents else None,
                                    parts=(INDEXED_BLOCK, documents.bodies) if documents else None,
                                    partial=only is not None, cancelled=cancelled)
            if only is not None:
                exact = False  # the rest of the site is as the last build left it
            elif data_files is None:
                # No browser shows these: the preview keeps the last ones and the exact build that
                # follows writes them (at 10,000 papers they are a third of an edit's rebuild).
                for path in last_data:
                    writer.keep(path)
                exact = False
            else:
                for path, staged in data_files.result(cancelled):
                    writer.added(path, staged)
        if strict and warnings:
            # Every warning is printed, one `file:line: message` line each, not only the first.
            first, *others = warnings
            raise BuildError(first.file, first.line, "".join(
                [first.message, *(f"\nerror: {warning}" for warning in others),
                 f"\n--strict: {len(warnings)} warning(s) are errors; fix them or build without --strict"]
            )) from None
        html = sorted(path for path in writer.paths if path.endswith(".html"))
        with watch.stage("write"):
            report = writer.commit(keep=(INDEX_DIR + "/",), tidy=not quick, prune=only is None)
            note_files(cache.pages)
        if on_write:
            on_write(report.written + report.removed)
        if search and exact:  # an approximate build leaves the index to the exact one that follows
            with watch.stage("search"):
                stood_in = documents is not None and documents.stand_for(rendered.indexed, rendered.matched)
                keep_ui = uses_ui([data for _, data in every_page[0]] + list(assets.values()))
                indexed = update_index(out_dir, list(rendered.indexed), html, report, inputs=inputs,
                                       documents=documents if stood_in else None, cancelled=cancelled,
                                       keep_ui=keep_ui)
        else:
            indexed = update_index(out_dir, list(rendered.indexed), html, report, enabled=False)
    without_topic = untagged(papers, taxonomy)
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
    summary = dict(papers=len(papers), pages=len(html), files=len(writer.paths), warnings=tuple(warnings),
                   notes=rules_note + inferred + _classify_notes(classified.unmatched, without_topic) + untitled,
                   unmatched=classified.unmatched, untagged=without_topic)
    if exact:
        write_state(out_dir, {"inputs": inputs, **summary,
                              **{key: [[d.file, d.line, d.message] for d in summary[key]]
                                 for key in ("warnings", "unmatched", "untagged")}})
    return BuildResult(**summary, written=report.written, unchanged=report.unchanged, removed=report.removed,
                       timings=tuple(watch.timings), search=indexed.message, exact=exact)


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


def _start_index(env: Environment, site: Site, out_dir: Path, config: Config,
                 workers: int) -> SearchDocuments | None:
    """Stand-ins for the paper pages, and Pagefind started on them unless the index is theirs already."""
    parts = paper_page_parts(site, env)  # first: it gives the templates the filters they use
    render_block = block_renderer(env, "paper.html", INDEXED_BLOCK, config.root)
    if render_block is None:
        return None
    return start_index(render_block, parts, out_dir, config.language, workers=workers)


def _read_by_every_page(theme: Theme, assets: dict[str, bytes], config: Config, taxonomy) -> tuple:
    """What any page may depend on besides its context: templates, static files, settings, rules."""
    templates = tuple((path.as_posix(), path.read_bytes()) for directory in theme.template_dirs
                      for path in sorted(directory.rglob("*")) if path.is_file())
    return templates, tuple(sorted(assets.items())), config, taxonomy
