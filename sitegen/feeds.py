"""Machine-readable outputs: `papers.json`, the Atom feeds, `sitemap.xml`, `robots.txt`, `.nojekyll`.

Every URL honours the base URL: absolute when `base_url` is set, else root-relative under
`/` (readers resolve those against the feed's address; a sitemap needs absolute URLs to be
accepted by crawlers, so set `base_url` for one they use). Nothing here reads the clock: a
feed's `updated` is the newest paper's date.
"""

from __future__ import annotations

import json
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import date

from . import routes
from .config import Config
from .papers import Paper, shorten

PAPERS_JSON_VERSION = 1


def papers_json(papers: tuple[Paper, ...], related: dict[str, tuple[str, ...]], config: Config,
                term_names: dict[str, str]) -> bytes:
    """The site's data export: one object per paper, stable keys, sorted output.

    `related` holds the slugs of each paper's similar papers, by its slug.
    """
    records = [
        {
            "slug": paper.slug,
            "title": paper.title,
            "url": routes.absolute_url(config, routes.paper(paper.slug)),
            "abstract": paper.abstract,
            "published": paper.published.isoformat() if paper.published else None,
            "published_year_inferred": paper.published_year_inferred,
            "upvotes": paper.upvotes,
            "authors_count": paper.authors_count,
            "authors": list(paper.metadata.authors) if paper.metadata else [],
            "arxiv": _arxiv_record(paper),
            "published_on_arxiv": paper.published_on_arxiv,
            "organization": ({"handle": paper.organization.handle, "name": paper.organization.name}
                             if paper.organization else None),
            "links": [{"url": link.url, "kind": link.kind} for link in paper.links],
            "topics": [term_names.get(slug, slug) for slug in paper.topics],
            "inferred_topics": [term_names.get(slug, slug) for slug in paper.inferred_topics],
            "hardware": list(dict.fromkeys(term_names.get(m.slug, m.slug) for m in paper.hardware)),
            "related": list(related.get(paper.slug, ())),
            "sources": [{"file": s.file, "line": s.line} for s in paper.sources],
        }
        for paper in papers
    ]
    # One paper per line: readable and diff-friendly, and made by json's C encoder (an indented
    # dump runs the pure-Python one, five times slower).
    head = json.dumps({"version": PAPERS_JSON_VERSION, "title": config.title}, ensure_ascii=False)
    text = head[:-1] + ', "papers": [\n' + ",\n".join(
        json.dumps(record, ensure_ascii=False) for record in records) + "\n]}"
    # The same JSON, but no title can read as markup if a browser sniffs the file as HTML or a
    # page embeds it in <script>: `<`, `>`, `&` and line separators only occur inside strings.
    # (Replaced in the UTF-8 bytes, where a search is a memchr, not in the wide string.)
    data = (text + "\n").encode("utf-8")
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        data = data.replace(char.encode("utf-8"), escaped.encode("ascii"))
    return data


def _arxiv_record(paper: Paper) -> dict | None:
    """The paper's arXiv id and links for `papers.json`, or None when its id is not known."""
    meta = paper.metadata
    if not meta or not meta.arxiv:
        return None
    return {"id": meta.arxiv, "version": meta.version, "category": meta.category,
            "published": meta.published.isoformat() if meta.published else None,
            "abs": meta.abs_url, "pdf": meta.pdf_url, "huggingface": meta.hf_url}


FEED_SIZE = 50
"""Papers in each Atom feed: the newest ones."""
FEED_SUMMARY_MAX = 2000
"""Characters of an abstract in a feed entry, more than arXiv allows (1,920): a paper is in
the main feed and in each of its topics' feeds, so a longer abstract is cut (at a word, with
`…`) rather than copied whole to each. Its page and `papers.json` keep all of it."""
ATOM_NS = "http://www.w3.org/2005/Atom"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NOT_IN_SITEMAP = frozenset({"404.html", "search/index.html"})
"""Pages that are not content: the error page and the (empty until queried) search page."""
_OTHER_ORDER = re.compile(r"(?:topics|hardware)/[^/]+/upvotes/")
"""A term's papers in another order than newest first: the same papers as its own pages, which
they name as canonical."""
_ID_NAMESPACE = uuid.UUID("0b7e4b3c-8f3a-5c1e-9a57-7f1f3c1d2e40")
"""Namespace of the entry ids: `urn:uuid:` + uuid5(namespace, the paper's title key)."""
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""Characters XML 1.0 cannot hold; copy-pasted listings sometimes carry them."""


def crawler_files(site, files: dict[str, bytes], term_names: dict[str, str] | None = None) -> dict[str, bytes]:
    """`feed.xml`, per-topic feeds (where the topic page exists), `sitemap.xml`, `robots.txt`, `.nojekyll`.

    `site` is the siteview.Site; `files` the pages rendered so far (the sitemap lists them).
    """
    config = site.config
    if term_names is None:
        terms = (*getattr(site.taxonomy, "topics", ()), *getattr(site.taxonomy, "hardware", ()))
        term_names = {term.slug: term.name for term in terms}
    out = {"feed.xml": atom_feed(site.papers, config, "feed.xml", "", config.title, term_names)}
    topics = sorted({slug for paper in site.papers for slug in paper.topics})
    for slug in topics:
        page = routes.term("topics", slug)
        if routes.output_path(page) in files:
            papers = tuple(p for p in site.papers if slug in p.topics)
            out[routes.topic_feed(slug)] = atom_feed(
                papers, config, routes.topic_feed(slug), page,
                f"{config.title}: {term_names.get(slug, slug)}", term_names)
    out["sitemap.xml"] = sitemap_xml([*files, *out], config)
    out["robots.txt"] = robots_txt(config)
    out[".nojekyll"] = b""  # GitHub Pages: serve the files as they are, no Jekyll
    return out


def is_data_file(path: str) -> bool:
    """Whether `path` is one of the files `papers_json` and `crawler_files` make."""
    return path in DATA_FILES or (path.startswith("topics/") and path.endswith("/feed.xml"))


DATA_FILES = frozenset({"papers.json", "feed.xml", "sitemap.xml", "robots.txt", ".nojekyll"})


def atom_feed(papers: tuple[Paper, ...], config: Config, path: str, page: str, title: str,
              term_names: dict[str, str]) -> bytes:
    """An Atom feed of the `FEED_SIZE` first of `papers` (newest first), served at `path`, about `page`.

    Entry ids are `urn:uuid:`s derived from the paper's identity (its folded title), so they
    survive moving the site to another address. Undated papers come last and take the
    feed's date.
    """
    entries = papers[:FEED_SIZE]
    newest = max((p.published for p in entries if p.published), default=None)
    updated = _timestamp(newest)
    feed = ET.Element("feed", {"xmlns": ATOM_NS, "xml:lang": config.language})
    _text(feed, "title", title)
    if config.description:
        _text(feed, "subtitle", config.description)
    url = routes.absolute_url(config, path)
    _text(feed, "id", url if config.base_url
          else f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, 'feed:' + config.title + ':' + path)}")
    _text(feed, "updated", updated)
    ET.SubElement(feed, "link", {"rel": "self", "type": "application/atom+xml", "href": url})
    ET.SubElement(feed, "link", {"rel": "alternate", "type": "text/html", "href": routes.absolute_url(config, page)})
    author = ET.SubElement(feed, "author")
    _text(author, "name", config.title)
    _text(feed, "generator", "sitegen")
    for paper in entries:
        entry = ET.SubElement(feed, "entry")
        _text(entry, "title", paper.title)
        _text(entry, "id", paper_id(paper))
        ET.SubElement(entry, "link", {"rel": "alternate", "type": "text/html",
                                      "href": routes.absolute_url(config, routes.paper(paper.slug))})
        if paper.published:
            _text(entry, "published", _timestamp(paper.published))
        _text(entry, "updated", _timestamp(paper.published) if paper.published else updated)
        if paper.metadata and paper.metadata.authors:
            for name in paper.metadata.authors:
                _text(ET.SubElement(entry, "author"), "name", name)
        elif paper.organization:
            _text(ET.SubElement(entry, "author"), "name", paper.organization.name)
        for slug in paper.topics:
            ET.SubElement(entry, "category", {"term": slug, "label": term_names.get(slug, slug)})
        if paper.abstract:
            _text(entry, "summary", shorten(paper.abstract, FEED_SUMMARY_MAX))
    return _xml(feed)


def paper_id(paper: Paper) -> str:
    """A permanent, unique id for a paper, independent of where the site is served."""
    return f"urn:uuid:{uuid.uuid5(_ID_NAMESPACE, paper.key)}"


def sitemap_xml(paths, config: Config) -> bytes:
    """A sitemap of every HTML page among `paths` except the 404 and search pages and the terms'
    pages in another order."""
    urlset = ET.Element("urlset", {"xmlns": SITEMAP_NS})
    pages = sorted(routes.site_path(p) for p in paths if p.endswith(".html") and p not in NOT_IN_SITEMAP
                   and not _OTHER_ORDER.match(p))
    for page in pages:
        _text(ET.SubElement(urlset, "url"), "loc", routes.absolute_url(config, page))
    return _xml(urlset)


def robots_txt(config: Config) -> bytes:
    """Allow everything; name the sitemap when its absolute URL is known."""
    lines = ["User-agent: *", "Disallow:"]
    if config.base_url:
        lines.append(f"Sitemap: {routes.absolute_url(config, 'sitemap.xml')}")
    else:
        lines.append("# Set base_url in sitegen.toml (or pass --base-url) to list the sitemap here.")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _timestamp(day: date | None) -> str:
    return f"{day.isoformat()}T00:00:00Z" if day else "1970-01-01T00:00:00Z"


def _text(parent: ET.Element, tag: str, text: str) -> ET.Element:
    element = ET.SubElement(parent, tag)
    element.text = _NOT_XML.sub("", text)
    return element


def _xml(root: ET.Element) -> bytes:
    ET.indent(root, space=" ")
    return b'<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                      xml_declaration=False) + b"\n"
