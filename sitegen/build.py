"""The build pipeline: listings in, a site on disk out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from . import feeds
from .config import RULES_FILE, Config
from .content import read_notes, read_pages
from .diagnostics import BuildError, Diagnostic
from .listings import read_listings
from .output import check_output_dir, write_site
from .papers import merge
from .parallel import default_workers
from .related import relate
from .taxonomy import classify, load_rules
from .render import Site, asset_versions, listing_views, make_environment, render_site, site_theme
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
    with watch.stage("render"):
        theme = site_theme(config.root)
        assets = asset_versions(theme)
        site = Site(config, tuple(papers), listing_views(listings, papers, config), tuple(pages), notes,
                    taxonomy)
        files = _render(site, theme, assets)
        files["papers.json"] = feeds.papers_json(
            site.papers, config, {slug: term.name for slug, term in taxonomy.terms.items()})
        files.update(feeds.crawler_files(site, files))
    if strict and warnings:
        # Every warning is printed, one `file:line: message` line each, not only the first.
        first, *others = warnings
        raise BuildError(first.file, first.line, "".join(
            [first.message, *(f"\nerror: {warning}" for warning in others),
             f"\n--strict: {len(warnings)} warning(s) are errors; fix them or build without --strict"]
        )) from None
    with watch.stage("write"):
        report = write_site(out_dir, files, keep=(INDEX_DIR + "/",))
    if search:
        with watch.stage("search"):
            indexed = update_index(out_dir, files, report)
    else:
        indexed = update_index(out_dir, files, report, enabled=False)
    rules_note = () if taxonomy.terms else (
        f"{RULES_FILE}: no topic or hardware rules, so papers get no topics; a new site from "
        "`sitegen init` has the default rules to start from",)
    inferred = tuple(
        f"{listing.path}: dates without a year are taken to be in {listing.year} (inferred from the "
        f"newest year the listing names, plus one; set [listings.\"{Path(listing.path).name}\"] year "
        "in sitegen.toml to change it)"
        for listing in listings if listing.year_inferred)
    return BuildResult(
        papers=len(papers), pages=sum(1 for path in files if path.endswith(".html")), files=len(files),
        written=report.written, unchanged=report.unchanged, removed=report.removed,
        warnings=tuple(warnings), notes=rules_note + inferred, timings=tuple(watch.timings), search=indexed.message)


def _render(site: Site, theme, assets: dict[str, bytes]) -> dict[str, bytes]:
    """Render all pages; a template error becomes a BuildError naming template file and line."""
    try:
        env = make_environment(theme, site.config, assets)
        return render_site(site, env, assets)
    except jinja2.TemplateSyntaxError as error:
        raise BuildError(_template_path(error.filename or error.name or "template", site.config.root),
                         error.lineno or 0, f"template syntax error: {error.message}") from None
    except jinja2.TemplateError as error:
        filename, line = _template_frame(error)
        raise BuildError(_template_path(filename, site.config.root), line,
                         f"template error: {error}; fix the template") from None


def _template_frame(error: BaseException) -> tuple[str, int]:
    """The innermost template file and line in a Jinja2 traceback."""
    found = ("template", 0)
    tb = error.__traceback__
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".html", ".xml", ".svg", ".txt", ".js")):
            found = (name, tb.tb_lineno)
        tb = tb.tb_next
    return found


def _template_path(filename: str, root: Path) -> str:
    path = Path(filename)
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return filename
