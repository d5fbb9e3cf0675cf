"""Jinja2 environment and page views: site content in, `{output path: bytes}` out. No disk writes."""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from . import charts, citation, metadata
from .config import Config
from .content import Page, is_junk
from .links import LINK_KINDS, Link
from .listings import Listing
from .papers import HardwareMention, Paper, listing_slugs, unique_slugs
from .taxonomy import Taxonomy
from .rendering import PageJob, once_per_build
from .termpages import (ORDERS, SPEC_SOURCE, TermView, architecture_timeline, evidence_html, paginate, quotes,
                        spec_rows, term_pages, term_views)

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Theme:
    """Where templates and static files come from; earlier directories override later ones."""

    template_dirs: tuple[Path, ...]
    static_dirs: tuple[Path, ...]


def default_theme_dir() -> Path:
    """The default theme: bundled in the wheel (`sitegen/theme/`) or the checkout's root."""
    bundled = PACKAGE_DIR / "theme"
    return bundled if (bundled / "templates").is_dir() else PACKAGE_DIR.parent


def site_theme(root: Path) -> Theme:
    """The site's own `templates/` and `static/` first, then the default theme."""
    default = default_theme_dir()
    dirs = [root] if root.resolve() != default.resolve() else []
    dirs.append(default)
    return Theme(tuple(d / "templates" for d in dirs if (d / "templates").is_dir()),
                 tuple(d / "static" for d in dirs if (d / "static").is_dir()))


@dataclass(frozen=True)
class ListingView:
    """A listing as pages show it."""

    key: str
    """The listing's slug from its file name, as `Paper.listings` holds it; never shown."""
    slug: str
    """URL segment, `listings/<slug>/`: from the title (or date), unique, stable while the title is."""
    title: str
    listing: Listing
    papers: tuple[Paper, ...]
    """Papers in the listing's own order."""


@dataclass(frozen=True)
class Site:
    """Everything the pages are made from."""

    config: Config
    papers: tuple[Paper, ...]
    """Newest first."""
    listings: tuple[ListingView, ...]
    pages: tuple[Page, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)
    """Rendered note HTML by paper slug."""
    taxonomy: object | None = None
    """The classification terms (sitegen.taxonomy.Taxonomy) when rules exist."""
    related: dict[str, tuple[str, ...]] | None = field(default_factory=dict)
    """Slugs of each paper's similar papers, most similar first, by its slug. Apart from the
    papers: a change of who is related to whom renders only the paper pages that show it.
    None while they are not known yet (a template that reads them then fails)."""


def listing_views(listings: list[Listing], papers: list[Paper], config: Config) -> tuple[ListingView, ...]:
    """Each listing with its papers in listing order.

    Readers see a listing's title (`[listings."file"] title` in sitegen.toml, else its date) and
    an address made from it; file names and lines stay in `papers.json` and the build's messages.
    """
    keys = listing_slugs(listings)
    titles = {}
    for listing in listings:
        settings = config.listings.get(Path(listing.path).name)
        titles[listing.path] = settings.title if settings and settings.title else listing_title(listing)
    slugs = unique_slugs([(listing.path, titles[listing.path]) for listing in listings], "listing")
    by_source = {source: paper for paper in papers for source in paper.sources}
    views = []
    for listing in listings:
        ordered = []
        for entry in listing.entries:
            paper = by_source[entry.source]
            if not ordered or ordered[-1] is not paper:
                ordered.append(paper)
        views.append(ListingView(keys[listing.path], slugs[listing.path], titles[listing.path], listing,
                                 tuple(dict.fromkeys(ordered))))
    return tuple(views)


def listing_title(listing: Listing) -> str:
    """The name of a listing that sitegen.toml gives no title: its date, else its file name."""
    if listing.date:
        return f"Daily papers, {listing.date.day} {listing.date:%B %Y}"
    return f"Listing {listing.stem.replace('_', ' ')}"  # nothing better is known: set a title


def asset_versions(theme: Theme) -> dict[str, bytes]:
    """Static files by output path (`static/...`), the site's overriding the theme's."""
    files: dict[str, bytes] = {}
    for static_dir in reversed(theme.static_dirs):
        for file in sorted(static_dir.rglob("*")):
            if file.is_file() and not is_junk(file.name):
                files["static/" + file.relative_to(static_dir).as_posix()] = file.read_bytes()
    return files


def make_environment(theme: Theme, config: Config, assets: dict[str, bytes]) -> Environment:
    """A Jinja2 environment with autoescaping, strict undefined and the site's URL helpers."""
    env = Environment(
        loader=FileSystemLoader([str(d) for d in theme.template_dirs]),
        autoescape=select_autoescape(("html", "xml", "svg"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # a build with other template files makes a new environment
    )
    base_path = config.base_path
    fingerprints = {path: hashlib.sha256(data).hexdigest()[:10] for path, data in assets.items()}

    def url(path: str = "") -> str:
        """Site-relative path -> URL path under the base path."""
        return base_path + path.lstrip("/")

    def asset(path: str) -> str:
        """URL of a static file with a content hash, so browsers can cache it for long."""
        key = "static/" + path
        return f"{url(key)}?v={fingerprints[key]}" if key in fingerprints else url(key)

    def absolute(path: str = "") -> str:
        """Absolute URL when the site has a base URL, else the root-relative one."""
        return (config.base_url + path.lstrip("/")) if config.base_url else url(path)

    env.globals.update(url=url, asset=asset, absolute=absolute, config=config,
                       link_kinds=LINK_KINDS)
    # A sentence is evidence on its model's, architecture's, vendor's and class's pages, in two
    # orders each: marked up once per build (at 10,000 papers 0.94 s of CPU, now 0.07 s).
    env.filters.update(evidence=functools.cache(evidence_html), quotes=functools.cache(quotes), linkify=linkify,
                       date_label=date_label, clip=clip, meta_line=meta_line, slugs=distinct_slugs,
                       iso=lambda d: d.isoformat() if d else "")
    # Presentation helpers: SVG charts, citation metadata, JSON for <script> elements.
    env.globals.update(year_chart=charts.year_chart, bar_chart=charts.bar_chart, spec_rows=spec_rows,
                       spec_source=SPEC_SOURCE,
                       scholarly_article=citation.scholarly_article, search_links=metadata.search_links)
    env.filters.update(bibtex=citation.bibtex, scholar_date=citation.scholar_date,
                       script_json=citation.script_json)
    env.globals["once"] = once_per_build(env)  # the paper card and page chrome, rendered once per build
    return env


def linkify(text: str | None, links: tuple[Link, ...]) -> Markup:
    """Escaped text with each found http(s) link made an anchor; debris stays as text."""
    if not text:
        return Markup("")
    parts, position = [], 0
    for link in links:
        parts.append(escape(text[position:link.start]))
        parts.append(Markup('<a href="{0}" rel="nofollow noopener">{1}</a>').format(link.url, link.url))
        position = link.end
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


# --- The paper card's parts -------------------------------------------------------------------
# Built in Python, not by macros: they are on every card and every paper page (a macro's calls
# per chip cost more than the rest of the card).

_ARXIV_NOTE = ('<span class="note" title="The listings give no date for this paper; this is the date of its '
               'first version on arXiv.">(published on arXiv)</span>')


def meta_line(paper: Paper, date_note: bool = False) -> Markup:
    """`26 Sep 2025 · 8 authors · ▲ 3`: date, organisation or author count, upvotes; each only when
    known (empty when none is). With `date_note`, says when the date is arXiv's."""
    parts = []
    if paper.published:
        day = paper.published
        note = f" {_ARXIV_NOTE}" if date_note and paper.published_on_arxiv else ""
        parts.append(f'<time datetime="{day.isoformat()}">{date_label(day)}</time>{note}')
    if paper.organization:
        parts.append(f"<span>{escape(paper.organization.name)}</span>")
    elif paper.authors_count:
        parts.append(f"<span>{paper.authors_count} author{'s' if paper.authors_count != 1 else ''}</span>")
    if paper.upvotes:
        parts.append('<span class="upvotes"><span aria-hidden="true">▲ </span>'
                     f'{paper.upvotes}<span class="visually-hidden"> upvotes</span></span>')
    return Markup(f'<span class="meta">{" · ".join(parts)}</span>') if parts else Markup("")


def clip(text: str | None, length: int) -> str:
    """`text` cut to at most `length` characters before a word, ending in `…` (never `.…`)."""
    text = " ".join((text or "").split())
    if len(text) <= length:
        return text
    kept = ""
    for word in text.split(" "):
        longer = f"{kept} {word}" if kept else word
        if len(longer.rstrip(_CUT_PUNCTUATION)) >= length:
            break
        kept = longer
    return (kept or text[:length - 1]).rstrip(_CUT_PUNCTUATION) + "…"


_CUT_PUNCTUATION = " .,;:!?-–—("
"""Left off before the `…` of a cut text."""


class Chips:
    """A paper's topics and hardware as a list of links: `chips(paper)`, empty when it has none.

    Each term's link is made once, by `url` and `term_name`.
    """

    def __init__(self, url: Callable[[str], str], term_name: Callable[[str], str]):
        self._url, self._term_name = url, term_name
        self._items: dict[tuple[str, str], str] = {}

    def __call__(self, paper: Paper) -> Markup:
        hardware = distinct_slugs(paper.hardware)
        if not paper.topics and not paper.inferred_topics and not hardware:
            return Markup("")
        item = self._item
        return Markup("".join(['<ul class="chips" data-pagefind-ignore>\n',
                               *[item("topic", slug) for slug in paper.topics],
                               *[item("inferred", slug) for slug in paper.inferred_topics],
                               *[item("hardware", slug) for slug in hardware], "</ul>\n"]))

    def _item(self, kind: str, slug: str) -> str:
        found = self._items.get((kind, slug))
        if found is None:
            href = escape(self._url(f"hardware/{slug}/" if kind == "hardware" else f"topics/{slug}/"))
            hidden = '<span class="visually-hidden">Hardware: </span>' if kind == "hardware" else ""
            # a topic no rule gave, taken from the paper's most similar papers (taxonomy.infer)
            inferred = ('<span class="inferred-mark" aria-hidden="true">≈ </span>', ' class="chip chip-topic '
                        'chip-inferred" title="Inferred: the topic of the most similar papers"',
                        '<span class="visually-hidden"> (inferred from similar papers)</span>')
            mark, attributes, after = inferred if kind == "inferred" else ("", f' class="chip chip-{kind}"', "")
            found = self._items[kind, slug] = (f'  <li><a{attributes} href="{href}">{hidden}{mark}'
                                               f'{escape(self._term_name(slug))}{after}</a></li>\n')
        return found


def distinct_slugs(mentions: tuple[HardwareMention, ...]) -> list[str]:
    """The slugs of a paper's hardware mentions, each once, in order of first mention."""
    return list(dict.fromkeys(mention.slug for mention in mentions))


def date_label(value) -> str:
    """`26 Sep 2025`; empty for no date."""
    return f"{value.day} {value:%b %Y}" if value else ""


def render_site(site: Site, env: Environment, assets: dict[str, bytes]) -> dict[str, bytes]:
    """Every output file of the site, by path relative to the output root, rendered here and now.

    The build renders `site_pages()` with `rendering.render_pages()` instead: in worker
    processes, straight into the writer, and only the pages whose inputs changed.
    """
    files: dict[str, bytes] = dict(assets)
    for job in site_pages(site, env):
        files[job.path] = env.get_template(job.template).render(job.context).encode("utf-8")
    return files


WATCHED = (Site, ListingView, TermView)
"""Context objects that reach many papers; `rendering` notes which parts of them a page reads."""


def site_pages(site: Site, env: Environment, only: frozenset[str] | None = None) -> list[PageJob]:
    """Every page of the site: output path, template and context; nothing is rendered yet.

    With `only`, just the pages at those output paths, and little work spent on the others.
    """
    common = _common_context(site, env)
    papers_by_slug, listing_by_key = common["papers_by_slug"], common["listing_by_key"]
    term_name = env.globals["term_name"]
    jobs: list[PageJob] = []

    def wanted(path: str) -> bool:
        return only is None or path in only

    def wanted_under(*prefixes: str) -> bool:
        return only is None or any(path.startswith(prefixes) for path in only)

    def page(path: str, template: str, **context) -> None:
        if wanted(path):
            jobs.append(PageJob(path, template, {**common, "page_path": _url_path(path), **context}))

    if wanted("index.html"):
        page("index.html", "home.html",
             recent=site.papers[:20],
             popular=sorted((p for p in site.papers if p.upvotes), key=lambda p: (-p.upvotes, p.slug))[:10])
    if wanted_under("papers/"):
        positions = {view.slug: {p.slug: i for i, p in enumerate(view.papers)} for view in site.listings}
        for paper in site.papers:
            if wanted(path := _paper_path(paper)):
                page(path, "paper.html", paper=paper, note=site.notes.get(paper.slug),
                     related=tuple(s for s in site.related.get(paper.slug, ()) if s in papers_by_slug),
                     **neighbours(paper, listing_by_key, positions))
        for path, context in paginate("papers/", "date", site.papers):  # 100 a page: small pages, cheap edits
            page(path, "papers.html", **context)
    page("listings/index.html", "listings.html")
    for view in site.listings:
        page(f"listings/{view.slug}/index.html", "listing.html", listing=view)
    for doc in site.pages:
        page(f"{doc.slug}/index.html", "page.html", doc=doc)
    if wanted("search/index.html"):
        page("search/index.html", "search.html",
             filters=search_filters(site.papers, site.taxonomy or Taxonomy(), term_name))
    if wanted_under("topics/", "hardware/"):
        _term_pages(site, page)
    page("404.html", "404.html")
    return jobs


def paper_page_parts(site: Site, env: Environment) -> list[PageJob]:
    """The paper pages' jobs without the related papers and the listing neighbours: what the
    part of a paper page that the search index reads may use, before the related papers are known."""
    common = _common_context(site, env)
    return [PageJob(path, "paper.html", {**common, "page_path": _url_path(path), "paper": paper,
                                         "note": site.notes.get(paper.slug)})
            for paper in site.papers for path in [_paper_path(paper)]]


def _common_context(site: Site, env: Environment) -> dict:
    """The context every page has; sets the globals that name the terms."""
    names = term_names(site.taxonomy)
    # A global, not a context variable: imported macros (the paper card) see globals only.
    env.globals["term_name"] = term_name = lambda slug: names.get(slug, slug)
    env.globals["hardware_lineage"] = hardware_lineage(site.taxonomy or Taxonomy())
    env.filters["chips"] = Chips(env.globals["url"], term_name)
    return {"site": site, "papers_by_slug": {paper.slug: paper for paper in site.papers},
            "listing_by_key": {view.key: view for view in site.listings}}


def _paper_path(paper: Paper) -> str:
    return f"papers/{paper.slug}/index.html"


def hardware_lineage(taxonomy: Taxonomy) -> Callable[[Paper], list[str]]:
    """The slugs of a paper's hardware search filter: each term it names and every term up the
    graph from it (architecture, vendor, class), as `hardware/<slug>/` counts its papers."""
    @functools.cache
    def up(slug: str) -> tuple[str, ...]:
        return (slug, *(term.slug for term in taxonomy.ancestors(slug)))

    return lambda paper: sorted({term for slug in distinct_slugs(paper.hardware) for term in up(slug)})


def search_filters(papers: tuple[Paper, ...], taxonomy: Taxonomy, term_name: Callable[[str], str]
                   ) -> dict[str, list[tuple[str, list[tuple[str, int, str]]]]]:
    """The values of each search filter, in groups (`""`, or for hardware the vendors,
    architectures, classes and models), with their paper counts and the site path of the term's
    page (empty for a year), as the paper pages give them to Pagefind (see `_pagefind.html`).
    The search page lists them in its HTML, so a first query does not download Pagefind's whole
    filter index (83 KB at 10,000 papers) to fill its menus, and its results link their chips.
    """
    counts: dict[str, Counter] = {"topic": Counter(), "hardware": Counter(), "year": Counter()}
    lineage = hardware_lineage(taxonomy)
    slugs: dict[str, dict[str, str]] = {"topic": {}, "hardware": {}}
    for paper in papers:
        for slug in paper.topics + paper.inferred_topics:  # as the topic's page lists them
            counts["topic"][name := term_name(slug)] += 1
            slugs["topic"].setdefault(name, slug)
        for slug in lineage(paper):
            counts["hardware"][name := term_name(slug)] += 1
            slugs["hardware"].setdefault(name, slug)
        if paper.year:
            counts["year"][str(paper.year)] += 1
    by_name = lambda item: (item[0].casefold(), item[0])  # noqa: E731
    topics = [(name, count, f"topics/{slugs['topic'][name]}/")
              for name, count in sorted(counts["topic"].items(), key=by_name)]
    years = [(year, count, "") for year, count in sorted(counts["year"].items(), reverse=True)]
    hardware = [(name, count, f"hardware/{slugs['hardware'][name]}/")
                for name, count in sorted(counts["hardware"].items(), key=by_name)]
    role = lambda name: taxonomy.terms[slugs["hardware"][name]].role  # noqa: E731
    groups = [(heading, [value for value in hardware if role(value[0]) == kind])
              for kind, heading in (("vendor", "Vendors"), ("architecture", "Architectures"),
                                    ("class", "Classes"), ("model", "Models"))]
    return {"topic": [("", topics)] if topics else [], "year": [("", years)] if years else [],
            "hardware": [(heading, values) for heading, values in groups if values]}


HARDWARE_GROUPS = (("vendor", "Vendors"), ("class", "Classes"), ("architecture", "Architectures"),
                   ("model", "Models"))
"""Sections of the hardware index, in order."""


def _term_pages(site: Site, page) -> None:
    """Topic and hardware indexes and one paginated page set per term that has papers."""
    taxonomy = site.taxonomy or Taxonomy()
    views = term_views(site.papers, taxonomy)
    with_papers = {slug: view for slug, view in views.items() if view.entries}
    by_count = lambda view: (-len(view.entries), view.term.name.casefold(), view.term.slug)  # noqa: E731
    page("topics/index.html", "topics.html",
         topics=[with_papers[t.slug] for t in taxonomy.topics if t.slug in with_papers])
    page("hardware/index.html", "hardware.html", groups=[
        (role, heading, sorted((with_papers[t.slug] for t in taxonomy.hardware
                                if t.role == role and t.slug in with_papers), key=by_count))
        for role, heading in HARDWARE_GROUPS], timeline=architecture_timeline(with_papers, taxonomy))
    for section, terms in (("topics", taxonomy.topics), ("hardware", taxonomy.hardware)):
        for term in terms:
            if term.slug not in with_papers:
                continue
            children = [with_papers[c.slug] for c in taxonomy.children(term.slug) if c.slug in with_papers]
            view = with_papers[term.slug]
            context = {"children": children, "orders": ORDERS, **term_lineage(term, taxonomy),
                       "related_terms": related_terms(view, section, with_papers)}
            for path, pages in term_pages(view, section):
                page(path, "term.html", **context, **pages)


def term_lineage(term, taxonomy) -> dict:
    """`trail`: the slugs from the vendor down to the term's parent (vendor › architecture ›
    model); `classes`: the classes the term belongs to, shown apart from the trail."""
    trail, current = [], term
    while parent := next((p for p in current.parents if taxonomy.terms[p].role != "class"), None):
        if parent in trail:
            break
        trail.insert(0, parent)
        current = taxonomy.terms[parent]
    classes = [t.slug for t in taxonomy.ancestors(term.slug) if t.role == "class"]
    return {"trail": trail, "classes": classes}


RELATED_TERMS = 8
"""Bars of a term page's chart of the other kind of term (a topic's hardware, a GPU's topics)."""


def related_terms(view: TermView, section: str, with_papers: dict[str, TermView]) -> list[tuple[str, int]]:
    """The other kind of term on this term's papers, most papers first, as (slug, papers): the
    hardware the papers of a topic name (what they name, not its architecture or vendor again),
    or the topics of the papers on a piece of hardware."""
    counts: Counter = Counter()
    for entry in view.entries:
        if section == "topics":
            counts.update({m.slug for m in entry.paper.hardware if m.slug in with_papers})
        else:
            counts.update(slug for slug in entry.paper.topics if slug in with_papers)
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:RELATED_TERMS]


def term_names(taxonomy) -> dict[str, str]:
    """Display name of each classification term by slug, for chips and metadata.

    Reads `taxonomy.terms` (slug -> term with a `name`); empty before classification exists,
    and templates then show the slug.
    """
    terms = getattr(taxonomy, "terms", None) or {}
    return {slug: term.name for slug, term in terms.items()}


def neighbours(paper: Paper, listing_by_key: dict[str, ListingView],
               positions: dict[str, dict[str, int]]) -> dict:
    """The papers before and after `paper` in the first listing that shows it (`None` at the ends).

    `positions` is each listing's paper slugs by index, computed once for all papers.
    """
    view = listing_by_key.get(paper.listings[0]) if paper.listings else None
    i = positions.get(view.slug, {}).get(paper.slug) if view else None
    if i is None:
        return {"sequence": None, "previous": None, "next": None}
    return {"sequence": view, "previous": view.papers[i - 1] if i else None,
            "next": view.papers[i + 1] if i + 1 < len(view.papers) else None}


def _url_path(output_path: str) -> str:
    """`papers/x/index.html` -> `papers/x/`, the path pages link to."""
    return output_path.removesuffix("index.html")
