"""How a paper page describes its paper to machines: BibTeX, schema.org JSON-LD, Scholar dates."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date

from markupsafe import Markup

from .papers import Paper

_LATEX = str.maketrans({
    "\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$",
    "#": r"\#", "_": r"\_", "^": r"\^{}", "~": r"\~{}",
})
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def bibtex(paper: Paper, url: str) -> str:
    """A `@misc` entry with what is known: title, date, authors (else the organisation or a
    count), the arXiv id, and a URL (the arXiv page, else `url` when it is absolute).

    Text is escaped for LaTeX, so `M^3VIR` or `{\\delta}` in a title never breaks the entry.
    """
    meta = paper.metadata
    key = paper.slug.split("-", 1)[0] + (str(paper.year) if paper.year else "")
    fields = [("title", "{" + paper.title.translate(_LATEX) + "}")]
    if meta and meta.authors:
        fields.append(("author", " and ".join(name.translate(_LATEX) for name in meta.authors)))
    day = meta.published if meta and meta.published else paper.published
    if day:
        fields.append(("year", str(day.year)))
        fields.append(("month", _MONTHS[day.month - 1]))
    if meta and meta.arxiv:
        fields += [("eprint", meta.arxiv), ("archivePrefix", "arXiv")]
        if meta.category:
            fields.append(("primaryClass", meta.category))
    authors_named = bool(meta and meta.authors)
    if paper.organization and not authors_named:
        fields.append(("note", "Organisation: " + paper.organization.name.translate(_LATEX)))
    elif paper.authors_count and not authors_named:
        fields.append(("note", f"{paper.authors_count} author{'s' if paper.authors_count != 1 else ''}"))
    link = meta.abs_url if meta and meta.arxiv else url
    if link.startswith(("https://", "http://")):  # a root-relative page URL cites nothing
        fields.append(("url", link))
    body = ",\n".join(f"  {name} = {value if name == 'month' else '{' + value + '}'}" for name, value in fields)
    return f"@misc{{{key},\n{body}\n}}\n"


def scholar_date(value: date | None) -> str:
    """Google Scholar's `citation_publication_date` format: `2025/03/26`."""
    return f"{value:%Y/%m/%d}" if value else ""


def scholarly_article(paper: Paper, url: str, term_name: Callable[[str], str] = str) -> dict:
    """schema.org `ScholarlyArticle` for the paper at `url`; `term_name` names a topic slug."""
    data: dict = {
        "@context": "https://schema.org",
        "@type": "ScholarlyArticle",
        "name": paper.title,
        "headline": paper.title,
        "url": url,
        "mainEntityOfPage": url,
    }
    if paper.abstract:
        data["abstract"] = paper.abstract
    if paper.published:
        data["datePublished"] = paper.published.isoformat()
    meta = paper.metadata
    if meta and meta.authors:
        data["author"] = [{"@type": "Person", "name": name} for name in meta.authors]
    elif paper.organization:
        data["author"] = {"@type": "Organization", "name": paper.organization.name}
    if paper.topics:
        data["keywords"] = [term_name(slug) for slug in paper.topics]
    if meta and meta.arxiv:
        data["identifier"] = {"@type": "PropertyValue", "propertyID": "arXiv", "value": meta.arxiv}
    same_as = list(dict.fromkeys([*([meta.abs_url] if meta and meta.arxiv else []),
                                  *(link.url for link in paper.links if link.kind == "paper")]))
    if same_as:
        data["sameAs"] = same_as
    return data


def script_json(data) -> Markup:
    """JSON safe inside `<script>`: `<`, `>`, `&` and line separators as `\\uXXXX` escapes,
    so no string in the data can close the element or open a comment."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=True)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return Markup(text)
