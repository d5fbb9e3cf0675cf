"""Topic and hardware pages: which papers each term has, with evidence, in two orders, paginated
(and the pagination of the list of all papers)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from . import routes
from .papers import HardwareMention, Paper
from .taxonomy import Taxonomy, Term

PAGE_SIZE = 100
"""Papers per page of a term listing; keeps pages small at 50,000 papers."""
ORDERS = {"date": "newest first", "upvotes": "most upvoted"}
"""The static orderings of every term page (no JavaScript needed), by URL segment."""

_FIGURE = re.compile(
    r"(?<![\w.])\d[\d,]*(?:\.\d+)?\s?(?:×|x\b|%|\s?(?:FPS|fps|ms|µs|s|GB|TB|MB|GiB|TFLOPS|PFLOPS|"
    r"tokens/s|tok/s|W|hours?|minutes?|days?|times|K|M|B)\b)")


@dataclass(frozen=True)
class TermEntry:
    """A paper on a term's page, with the sentences that put it there (hardware only)."""

    paper: Paper
    evidence: tuple[HardwareMention, ...] = ()
    inferred: bool = False
    """A topic the paper takes from its most similar papers (no rule tags it)."""


@dataclass(frozen=True)
class TermView:
    """A term with its papers, newest first."""

    term: Term
    entries: tuple[TermEntry, ...]

    @property
    def by_upvotes(self) -> tuple[TermEntry, ...]:
        return tuple(sorted(self.entries, key=lambda e: -(e.paper.upvotes or 0)))  # stable: ties by date


def term_views(papers: tuple[Paper, ...], taxonomy: Taxonomy) -> dict[str, TermView]:
    """Every term by slug with its papers; a hardware term also gets its descendants' papers."""
    topic_papers: dict[str, list[TermEntry]] = {t.slug: [] for t in taxonomy.topics}
    hardware_papers: dict[str, dict[str, list[HardwareMention]]] = {t.slug: {} for t in taxonomy.hardware}
    lineage: dict[str, tuple[str, ...]] = {
        t.slug: (t.slug, *(a.slug for a in taxonomy.ancestors(t.slug))) for t in taxonomy.hardware}
    by_slug = {paper.slug: paper for paper in papers}
    for paper in papers:  # newest first, so every list below is too
        for slug in paper.topics:
            topic_papers[slug].append(TermEntry(paper))
        for slug in paper.inferred_topics:
            topic_papers[slug].append(TermEntry(paper, inferred=True))
        for mention in paper.hardware:
            for slug in lineage.get(mention.slug, ()):
                hardware_papers[slug].setdefault(paper.slug, []).append(mention)
    views = {slug: TermView(taxonomy.terms[slug], tuple(entries)) for slug, entries in topic_papers.items()}
    for slug, found in hardware_papers.items():
        entries = tuple(TermEntry(by_slug[p], tuple(m)) for p, m in found.items())
        views[slug] = TermView(taxonomy.terms[slug], entries)
    return views


def evidence_html(mention: HardwareMention) -> Markup:
    """The evidence sentence, escaped, with the mention marked and figures in it emphasised."""
    s = mention.sentence
    return (_figures(s[: mention.start]) + Markup("<mark>") + escape(s[mention.start: mention.end])
            + Markup("</mark>") + _figures(s[mention.end:]))


def _figures(text: str) -> Markup:
    parts, position = [], 0
    for match in _FIGURE.finditer(text):
        parts += [escape(text[position: match.start()]),
                  Markup('<strong class="figure">{}</strong>').format(match.group())]
        position = match.end()
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


@dataclass(frozen=True)
class Pager:
    """Where one page sits in a paginated, ordered term listing."""

    base: str
    """URL path of the term, e.g. `hardware/h100/`."""
    order: str
    """Key of ORDERS."""
    number: int
    count: int

    def path(self, number: int | None = None, order: str | None = None) -> str:
        """URL path of another page or ordering of the same listing."""
        return routes.paginated(self.base, order or self.order, self.number if number is None else number)


def term_pages(view: TermView, section: str) -> list[tuple[str, dict]]:
    """(output path, template context) of every page of one term: each order, each page."""
    base = routes.term(section, view.term.slug)
    return [(path, {"view": view, **context}) for order in ORDERS
            for path, context in paginate(base, order, view.entries if order == "date" else view.by_upvotes)]


def paginate(base: str, order: str, entries: tuple) -> list[tuple[str, dict]]:
    """(output path, `entries` and `pager` context) of each page of PAGE_SIZE entries under `base`."""
    count = max(1, -(-len(entries) // PAGE_SIZE))
    pagers = [Pager(base, order, number, count) for number in range(1, count + 1)]
    return [(routes.output_path(pager.path()),
             {"entries": entries[(pager.number - 1) * PAGE_SIZE: pager.number * PAGE_SIZE], "pager": pager})
            for pager in pagers]
