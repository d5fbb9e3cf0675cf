"""Machine-readable outputs: `papers.json`."""

from __future__ import annotations

import json

from .config import Config
from .papers import Paper

PAPERS_JSON_VERSION = 1


def papers_json(papers: tuple[Paper, ...], config: Config, term_names: dict[str, str]) -> bytes:
    """The site's data export: one object per paper, stable keys, sorted output."""
    def url(paper: Paper) -> str:
        path = f"papers/{paper.slug}/"
        return config.base_url + path if config.base_url else config.base_path + path

    records = [
        {
            "slug": paper.slug,
            "title": paper.title,
            "url": url(paper),
            "abstract": paper.abstract,
            "published": paper.published.isoformat() if paper.published else None,
            "published_year_inferred": paper.published_year_inferred,
            "upvotes": paper.upvotes,
            "authors_count": paper.authors_count,
            "organization": ({"handle": paper.organization.handle, "name": paper.organization.name}
                             if paper.organization else None),
            "links": [{"url": link.url, "kind": link.kind} for link in paper.links],
            "topics": [term_names.get(slug, slug) for slug in paper.topics],
            "hardware": list(dict.fromkeys(term_names.get(m.slug, m.slug) for m in paper.hardware)),
            "related": list(paper.related),
            "sources": [{"file": s.file, "line": s.line} for s in paper.sources],
        }
        for paper in papers
    ]
    document = {"version": PAPERS_JSON_VERSION, "title": config.title, "papers": records}
    text = json.dumps(document, ensure_ascii=False, indent=1)
    # The same JSON, but no title can read as markup if a browser sniffs the file as HTML or a
    # page embeds it in <script>: `<`, `>`, `&` and line separators only occur inside strings.
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return (text + "\n").encode("utf-8")
