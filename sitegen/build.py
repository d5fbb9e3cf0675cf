"""The build pipeline: listings in, a site on disk out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from . import feeds
from .config import RULES_FILE, Config
from .content import read_notes, read_pages
from .diagnostics import BuildError, Diagnostic
from .listings import read_listings
from .output import SiteWriter, check_output_dir
from .papers import merge
from .parallel import default_workers
from .related import relate
from .taxonomy import classify, load_rules
from .render import WATCHED, Site, asset_versions, listing_views, make_environment, site_pages, site_theme
from .rendering import render_pages
from .search import INDEX_DIR, update_index


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
    """Seconds per stage, in pipeline order."""
    search: str = ""
    """What happened to the search index, for the summary (e.g. `search index: 175 pages`)."""


@dataclass
class Stopwatch:
    """Times named stages; reports each as it ends when given a callback."""

    on_stage: Callable[[str, float], None] | None = None
    timings: list[tuple[str, float]] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        elapsed = time.perf_counter() - start
        self.timings.append((name, elapsed))
        if self.on_stage:
            self.on_stage(name, elapsed)


def build(config: Config, out_dir: Path, *, search: bool = True, strict: bool = False, force: bool = False,
          on_stage: Callable[[str, float], None] | None = None, workers: int | None = None) -> BuildResult:
    """Read, merge, render and write the site; raise BuildError before writing anything if it fails.

    `workers` processes share the work of the slow stages (default: one per CPU); the output
    does not depend on it.
    """
    check_output_dir(out_dir, config.root, force=force)
    workers = workers or default_workers()
    watch = Stopwatch(on_stage)
    warnings: list[Diagnostic] = []
    with watch.stage("parse"):
        years = {name: s.year for name, s in config.listings.items() if s.year}
        listings = read_listings(config.listings_dir, config.root, years)
        warnings += [d for listing in listings for d in listing.diagnostics]
        pages = read_pages(config.content_dir / "pages", config.root)
    with watch.stage("merge"):
        papers, problems = merge(listings)
        warnings += problems
        notes, problems = read_notes(config.content_dir / "notes", config.root, {p.slug for p in papers})
        warnings += problems
    with watch.stage("classify"):
        taxonomy = load_rules(config.rules_file, RULES_FILE)
        papers, problems = classify(papers, taxonomy, workers=workers)
        warnings += problems
    with watch.stage("relate"):
        papers = relate(papers, workers=workers)
    theme = site_theme(config.root)
    assets = asset_versions(theme)
    site = Site(config, tuple(papers), listing_views(listings, papers, config), tuple(pages), notes, taxonomy)
    with SiteWriter(out_dir) as writer:  # files are staged as they are rendered; removed unless committed
        with watch.stage("render"):
            env = make_environment(theme, config, assets)
            for path, data in assets.items():
                writer.add(path, data)
            rendered = render_pages(env, site_pages(site, env), writer, root=config.root, watched=WATCHED,
                                    workers=workers)
            writer.add("papers.json", feeds.papers_json(
                site.papers, config, {slug: term.name for slug, term in taxonomy.terms.items()}))
            for path, data in feeds.crawler_files(site, writer.paths).items():
                writer.add(path, data)
        if strict and warnings:
            # Every warning is printed, one `file:line: message` line each, not only the first.
            first, *others = warnings
            raise BuildError(first.file, first.line, "".join(
                [first.message, *(f"\nerror: {warning}" for warning in others),
                 f"\n--strict: {len(warnings)} warning(s) are errors; fix them or build without --strict"]
            )) from None
        with watch.stage("write"):
            report = writer.commit(keep=(INDEX_DIR + "/",))
    html = sorted(path for path in writer.paths if path.endswith(".html"))
    if search:
        with watch.stage("search"):
            indexed = update_index(out_dir, list(rendered.indexed), html, report)
    else:
        indexed = update_index(out_dir, list(rendered.indexed), html, report, enabled=False)
    rules_note = () if taxonomy.terms else (
        f"{RULES_FILE}: no topic or hardware rules, so papers get no topics; a new site from "
        "`sitegen init` has the default rules to start from",)
    inferred = tuple(
        f"{listing.path}: dates without a year are taken to be in {listing.year} (inferred from the "
        f"newest year the listing names, plus one; set [listings.\"{Path(listing.path).name}\"] year "
        "in sitegen.toml to change it)"
        for listing in listings if listing.year_inferred)
    return BuildResult(
        papers=len(papers), pages=len(html), files=len(writer.paths),
        written=report.written, unchanged=report.unchanged, removed=report.removed,
        warnings=tuple(warnings), notes=rules_note + inferred, timings=tuple(watch.timings), search=indexed.message)
