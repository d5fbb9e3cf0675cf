"""The pages of the site: each one's output path, template and context; nothing is rendered here.

`site_pages()` lists them for `renderer.render_pages()`; `render_site()` renders them at once.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from jinja2 import Environment

from . import routes
from .papers import Paper
from .siteview import ListingView, Site, distinct_slugs
from .taxonomy import Taxonomy
from .termpages import ORDERS, TermView, architecture_timeline, paginate, term_pages, term_views


@dataclass(frozen=True)
class PageJob:
    """One page to render."""

    path: str
    """Output path, e.g. `papers/x/index.html`."""
    template: str
    context: dict
    """Template variables."""


def render_site(site: Site, env: Environment, assets: dict[str, bytes]) -> dict[str, bytes]:
    """Every output file of the site, by path relative to the output root, rendered here and now.

    The build renders `site_pages()` with `renderer.render_pages()` instead: in worker
    processes, straight into the writer, and only the pages whose inputs changed.
    """
    files: dict[str, bytes] = dict(assets)
    for job in site_pages(site, env):
        files[job.path] = env.get_template(job.template).render(job.context).encode("utf-8")
    return files


def site_pages(site: Site, env: Environment, only: frozenset[str] | None = None) -> list[PageJob]:
    """Every page of the site: output path, template and context; nothing is rendered yet.

    With `only`, just the pages at those output paths, and little work spent on the others.
    """
    common = _common_context(site)
    papers_by_slug, listing_by_key = common["papers_by_slug"], common["listing_by_key"]
    term_name = env.globals["term_name"]
    jobs: list[PageJob] = []

    def wanted(path: str) -> bool:
        return only is None or path in only

    def wanted_under(*prefixes: str) -> bool:
        return only is None or any(path.startswith(prefixes) for path in only)

    def page(path: str, template: str, **context) -> None:
        if wanted(path):
            jobs.append(PageJob(path, template, {**common, "page_path": routes.site_path(path), **context}))

    if wanted("index.html"):
        page("index.html", "home.html",
             recent=site.papers[:20],
             popular=sorted((p for p in site.papers if p.upvotes), key=lambda p: (-p.upvotes, p.slug))[:10])
    if wanted_under("papers/"):
        positions = {view.slug: {p.slug: i for i, p in enumerate(view.papers)} for view in site.listings}
        for paper in site.papers:
            if wanted(path := routes.output_path(routes.paper(paper.slug))):
                page(path, "paper.html", paper=paper, note=site.notes.get(paper.slug),
                     related=tuple(s for s in site.related.get(paper.slug, ()) if s in papers_by_slug),
                     **neighbours(paper, listing_by_key, positions))
        for path, context in paginate("papers/", "date", site.papers):  # 100 a page: small pages, cheap edits
            page(path, "papers.html", **context)
    page("listings/index.html", "listings.html")
    for view in site.listings:
        page(routes.output_path(routes.listing(view.slug)), "listing.html", listing=view)
    for doc in site.pages:
        page(routes.output_path(routes.page(doc.slug)), "page.html", doc=doc)
    if wanted("search/index.html"):
        page("search/index.html", "search.html",
             filters=search_filters(site.papers, site.taxonomy or Taxonomy(), term_name))
    if wanted_under("topics/", "hardware/"):
        _term_pages(site, page)
    page("404.html", "404.html")
    return jobs


def paper_page_parts(site: Site) -> list[PageJob]:
    """The paper pages' jobs without the related papers and the listing neighbours: what the
    part of a paper page that the search index reads may use, before the related papers are known."""
    common = _common_context(site)
    return [PageJob(routes.output_path(path), "paper.html", {**common, "page_path": path, "paper": paper,
                                                             "note": site.notes.get(paper.slug)})
            for paper in site.papers for path in [routes.paper(paper.slug)]]


def _common_context(site: Site) -> dict:
    """The context every page has."""
    return {"site": site, "papers_by_slug": {paper.slug: paper for paper in site.papers},
            "listing_by_key": {view.key: view for view in site.listings}}


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
    topics = [(name, count, routes.term("topics", slugs["topic"][name]))
              for name, count in sorted(counts["topic"].items(), key=by_name)]
    years = [(year, count, "") for year, count in sorted(counts["year"].items(), reverse=True)]
    hardware = [(name, count, routes.term("hardware", slugs["hardware"][name]))
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
