"""The template environment: Jinja2 with the site's URL helpers, filters and globals, set once.

A build makes one when the templates, static files, settings or rules change
(`build.BuildCache.environment`); nothing changes it afterwards.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from . import charts, citation, metadata, routes
from .config import Config
from .links import LINK_KINDS, Link
from .papers import Paper
from .renderer import unwrap
from .siteview import distinct_slugs, term_names
from .pages import hardware_lineage
from .taxonomy import Taxonomy
from .termpages import SPEC_SOURCE, evidence_html, quotes, spec_rows
from .theme import Theme


def make_environment(theme: Theme, config: Config, assets: dict[str, bytes], taxonomy=None) -> Environment:
    """A Jinja2 environment with autoescaping, strict undefined, the site's URL helpers and the
    names of the terms of `taxonomy` (the classified one, `sitegen.taxonomy.Taxonomy`)."""
    env = Environment(
        loader=FileSystemLoader([str(d) for d in theme.template_dirs]),
        autoescape=select_autoescape(("html", "xml", "svg"), default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=False,  # a build with other template files makes a new environment
    )
    fingerprints = {path: hashlib.sha256(data).hexdigest()[:10] for path, data in assets.items()}
    url = functools.partial(routes.url, config.base_path)

    def asset(path: str) -> str:
        """URL of a static file with a content hash, so browsers can cache it for long."""
        key = "static/" + path
        return f"{url(key)}?v={fingerprints[key]}" if key in fingerprints else url(key)

    env.globals.update(url=url, asset=asset, absolute=functools.partial(routes.absolute_url, config), config=config,
                       link_kinds=LINK_KINDS)
    names = term_names(taxonomy)
    # A global, not a context variable: imported macros (the paper card) see globals only.
    env.globals["term_name"] = term_name = lambda slug: names.get(slug, slug)
    env.globals["hardware_lineage"] = hardware_lineage(taxonomy or Taxonomy())
    env.filters["chips"] = Chips(url, term_name)
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
    env.policies["json.dumps_kwargs"] = {"sort_keys": True, "default": unwrap}  # `tojson` of what a page watches
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
            href = escape(self._url(routes.term_of_kind(kind, slug)))
            hidden = '<span class="visually-hidden">Hardware: </span>' if kind == "hardware" else ""
            # a topic no rule gave, taken from the paper's most similar papers (taxonomy.infer)
            inferred = ('<span class="inferred-mark" aria-hidden="true">≈ </span>', ' class="chip chip-topic '
                        'chip-inferred" title="Inferred: the topic of the most similar papers"',
                        '<span class="visually-hidden"> (inferred from similar papers)</span>')
            mark, attributes, after = inferred if kind == "inferred" else ("", f' class="chip chip-{kind}"', "")
            found = self._items[kind, slug] = (f'  <li><a{attributes} href="{href}">{hidden}{mark}'
                                               f'{escape(self._term_name(slug))}{after}</a></li>\n')
        return found


def date_label(value) -> str:
    """`26 Sep 2025`; empty for no date."""
    return f"{value.day} {value:%b %Y}" if value else ""


def once_per_build(env: Environment) -> Callable:
    """A template global `once(template, macro, *args)`: that macro's output, rendered the first time only.

    For page parts that depend on nothing but their arguments, such as the paper card, which a
    build shows up to forty times per paper, or the masthead, the same on every page of a section.
    The macro is taken from the template's module, which sees no page context. Arguments count
    as the same when they are the same object (papers are immutable) or equal strings, numbers
    or None.
    """
    done: dict[tuple, tuple] = {}
    plain = (str, int, float, bool, type(None))

    def once(template: str, macro: str, *args):
        key = (template, macro, *[(type(a), a) if type(a) in plain else id(a) for a in args])
        found = done.get(key)
        if found is None:
            render = getattr(env.get_template(template).module, macro)
            found = done[key] = (render(*args), args)  # keeps the arguments, so their ids stay theirs
        return found[0]

    return once
