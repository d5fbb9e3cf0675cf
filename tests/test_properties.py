"""Properties that hold for any input, checked with Hypothesis on the real functions.

- `decode` on any bytes, and `parse_listing` on any text, either give a value or raise
  BuildError pointing at the file and a line that exists; parsed entries point at real lines;
- any title and abstract rendered through the real templates come out as the same text
  (escaped: html.unescape of the element's content gives it back), never as markup;
- papers.json stays JSON and feed.xml and sitemap.xml stay well-formed XML for any titles;
- slugs are URL-safe and unique, and a paper keeps its slug when other papers come and go;
- copies of a title (case, separators respelled) have one identity, characters that change
  the meaning (`+ # ? !`...) another;
- links are http(s) slices of the text they were found in.
"""

from __future__ import annotations

import html
import json
import re
import string
from itertools import cycle
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hostile.harness import file_problems, parse_page
from sitegen import feeds
from sitegen.config import Config
from sitegen.diagnostics import BuildError
from sitegen.links import find_links
from sitegen.listings import Entry, Listing, Source, _clean, decode, parse_listing
from sitegen.papers import merge, shorten, title_key, unique_slugs
from sitegen.environment import make_environment
from sitegen.pages import render_site
from sitegen.siteview import listing_views
from sitegen.theme import asset_versions, site_theme

PATH = "content/listings/x.txt"
HOSTILE_BITS = ["<script>alert(1)</script>", "</script>", "<!--", "]]>", "&amp;", "&", "<", ">", '"',
                "'", "{{ 7*7 }}", "{% if %}", "javascript:alert(1)", "JaVa&#x09;script:", "https://x.org/a_(b).",
                "http://a.b/c)", "\u2028", "\u2029", "\x85", "\r", "\n", "\t", "\x00", "\x0b", "\ufffe",
                "\ufeff", "\u202e", "🚀", "é", "e\u0301"]
LISTING_BITS = ["", "", "Daily Papers", "Nov 4", "Subscribe", "SubscribeA Title", "  • 8 authors", "·",
                "May 30 3", "Jun 12, 2024 3", "nvidia NVIDIA", "Feb 30 2", "A Short Title",
                "An abstract sentence that goes on for a while. " * 3]

text_piece = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
hostile_text = st.lists(st.one_of(st.sampled_from(HOSTILE_BITS), text_piece), max_size=8).map("".join)
listing_line = st.one_of(st.sampled_from(LISTING_BITS), hostile_text)
listing_text = st.tuples(st.lists(listing_line, max_size=30),
                         st.sampled_from(["\n", "\r\n", "\r"])).map(lambda t: t[1].join(t[0]))


def _line_count(text: str) -> int:
    return len(text.split("\n"))


@given(st.one_of(st.binary(max_size=300), listing_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                 listing_text.map(lambda t: ("\ufeff" + t).encode("utf-8"))))
def test_decode_any_bytes(data):
    try:
        text = decode(data, PATH)
    except BuildError as error:
        assert error.diagnostic.file == PATH
        lines = data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n") + 1
        assert 1 <= error.diagnostic.line <= lines
        assert str(error).startswith(f"{PATH}:{error.diagnostic.line}: ")
        return
    assert "\r" not in text and "\x00" not in text
    assert text.count("\u2028") == data.decode("utf-8").count("\u2028"), "U+2028 is not a line end"


@given(listing_text)
def test_parse_listing_any_text(text):
    try:
        listing = parse_listing(text, PATH)
    except BuildError as error:
        assert error.diagnostic.file == PATH and 1 <= error.diagnostic.line <= _line_count(text)
        return
    assert isinstance(listing, Listing)
    lines = text.split("\n")
    for diagnostic in listing.diagnostics:
        assert diagnostic.file == PATH and 1 <= diagnostic.line <= len(lines)
    for entry in listing.entries:
        assert entry.source.file == PATH and 1 <= entry.source.line <= len(lines)
        assert entry.title.strip()
        # The title starts on its own line (a paragraph broken over lines is joined into one text).
        following = " ".join(_clean(line).strip() for line in lines[entry.source.line - 1:])
        assert entry.title in following
        assert following[:following.find(entry.title)].strip() in ("", "Subscribe"), \
            "the title is read from its own line"


@given(listing_text)
def test_parse_then_decode_roundtrip_keeps_every_paper(text):
    """Decoding the bytes of a listing gives what the parser would have read from the text."""
    data = text.encode("utf-8", "surrogatepass")
    if b"\x00" in data:
        return
    normalised = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")  # a leading BOM is one
    assert [e.title for e in parse_listing(decode(data, PATH), PATH).entries] == \
           [e.title for e in parse_listing(normalised, PATH).entries]


def _render(root: Path, titles_and_abstracts: list[tuple[str, str | None]]) -> tuple[list, dict[str, bytes]]:
    """The site of these papers, rendered by the real templates, plus papers.json, feeds and sitemap."""
    entries = tuple(Entry(title, Source(PATH, n), abstract=abstract)
                    for n, (title, abstract) in enumerate(titles_and_abstracts, 1))
    listing = Listing(PATH, "x", "rich", None, None, False, entries)
    papers, _ = merge([listing])
    config = Config(root=root, title="Props <&>", base_url="https://example.org/sub/")
    theme = site_theme(root)
    assets = asset_versions(theme)
    from sitegen.siteview import Site

    site = Site(config, tuple(papers), listing_views([listing], papers, config))
    files = render_site(site, make_environment(theme, config, assets), assets)
    files["papers.json"] = feeds.papers_json(site.papers, {}, config, {})
    if hasattr(feeds, "crawler_files"):
        files.update(feeds.crawler_files(site, files))
    return papers, files


_ANCHOR = re.compile(r'<a href="[^"]*" rel="nofollow noopener">|</a>')
_ABSTRACT = re.compile(r'<p class="abstract">(.*?)</p>', re.DOTALL)
_XML_NOT_ALLOWED = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
titles = hostile_text.filter(lambda t: t.strip())


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(titles, st.one_of(st.none(), hostile_text.filter(str.strip))), min_size=1, max_size=3))
def test_any_text_renders_as_the_same_text(tmp_path, items):
    papers, files = _render(tmp_path, items)
    for paper in papers:
        page = files[f"papers/{paper.slug}/index.html"]
        parsed = parse_page(page)
        assert parsed.h1 == paper.title, "html.unescape of the <h1> content is the title"
        if paper.abstract:
            (inner,) = _ABSTRACT.findall(page.decode("utf-8"))
            assert html.unescape(_ANCHOR.sub("", inner)) == paper.abstract
            # Only the links sitegen found became anchors, and each is http(s).
            hrefs = re.findall(r'<a href="([^"]*)" rel="nofollow noopener">', inner)
            assert [html.unescape(h) for h in hrefs] == [link.url for link in paper.links]
    for rel, data in files.items():
        assert file_problems(rel, data) == [], rel


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(titles, st.one_of(st.none(), hostile_text)), min_size=1, max_size=4))
def test_feeds_stay_valid_for_any_titles(tmp_path, items):
    papers, files = _render(tmp_path, items)
    document = json.loads(files["papers.json"])
    assert [p["title"] for p in document["papers"]] == [p.title for p in papers]
    assert [p["abstract"] for p in document["papers"]] == [p.abstract for p in papers]
    assert b"<" not in files["papers.json"], "no markup characters outside JSON escapes"
    if "feed.xml" not in files:
        pytest.skip("no feed.xml yet")
    atom = "{http://www.w3.org/2005/Atom}"
    feed = ET.fromstring(files["feed.xml"])
    shown = [entry.find(f"{atom}title").text or "" for entry in feed.iter(f"{atom}entry")]

    def as_xml_reads(text: str) -> str:  # XML drops what it cannot hold and reads CR as LF
        return _XML_NOT_ALLOWED.sub("", text).replace("\r\n", "\n").replace("\r", "\n")

    assert shown == [as_xml_reads(p.title) for p in papers[:len(shown)]]
    ET.fromstring(files["sitemap.xml"])


@given(st.lists(st.tuples(st.text(max_size=8), hostile_text), max_size=30, unique_by=lambda t: t[0]))
def test_slugs_are_url_safe_and_unique(keys_and_names):
    slugs = unique_slugs(keys_and_names, "paper")
    assert len(set(slugs.values())) == len(keys_and_names)
    for slug in slugs.values():
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", slug), slug


TITLE_WORDS = ["Model", "model", "MODEL:", "LLM", "C++", "C#", "Need?", "Need!", "Café", "Straße", "STRASSE",
               "—", "x" * 45, "a", "2", "&", "🚀", "Model-2", "«quoted»", "v1.5"]
paper_title = st.one_of(st.lists(st.sampled_from(TITLE_WORDS), min_size=1, max_size=5).map(" ".join),
                        hostile_text).filter(str.strip)


def _slug_of_each_title(titles: list[str]) -> dict[str, str]:
    """Title -> the slug of the paper that `merge` makes of it, all titles in one listing."""
    entries = tuple(Entry(title, Source(PATH, n)) for n, title in enumerate(titles, 1))
    papers, _ = merge([Listing(PATH, "x", "rich", None, None, False, entries)])
    return {titles[source.line - 1]: paper.slug for paper in papers for source in paper.sources}


@pytest.mark.slow
@settings(max_examples=300)
@given(st.lists(paper_title, min_size=1, max_size=12), st.lists(paper_title, max_size=12), st.integers(0, 12))
def test_a_paper_keeps_its_slug_when_others_come_and_go(staying, others, cut):
    alone = _slug_of_each_title(staying)
    together = _slug_of_each_title(others[:cut] + staying + others[cut:])
    assert {title: together[title] for title in staying} == alone
    assert len(set(together.values())) == len({title_key(t) or t for t in together})


_MEANINGFUL = "+#?!&%*/@"


@given(st.lists(st.text(string.ascii_letters + string.digits + _MEANINGFUL, min_size=1, max_size=6), min_size=1,
                max_size=5),
       st.lists(st.sampled_from([" ", "  ", " - ", ": ", " — ", "\u00a0", " “", "” ", "_", "\t", ", ", " ("]),
                min_size=1, max_size=4))
def test_copies_of_a_title_have_one_identity(words, separators):
    plain = " ".join(words)
    respelled = words[0] + "".join(sep + word for sep, word in zip(cycle(separators), words[1:]))
    assert title_key(respelled.upper()) == title_key(plain)
    for char in _MEANINGFUL:
        assert title_key(plain + char) != title_key(plain)


@given(hostile_text, st.integers(2, 40))
def test_a_shortened_text_is_a_bounded_prefix(text, limit):
    short = shorten(text, limit)
    assert len(short) <= limit
    assert short == text or (short.endswith("…") and text.startswith(short[:-1]))


@given(hostile_text)
def test_links_are_http_slices_of_the_text(text):
    for link in find_links(text):
        assert text[link.start:link.end] == link.url
        assert re.match(r"(?i)https?://", link.url)
        assert not re.search(r"[\s<>\"'`]", link.url)
