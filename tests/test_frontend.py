"""The default theme's pages as files: metadata for machines, one card everywhere, charts,
previous/next, hostile text kept as text, no request leaving the site. Real builds, no browser
(tests/test_browser.py drives Chromium)."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from conftest import ROOT, run_sitegen
from sitegen.charts import Bar, bar_chart, column_chart, per_year, year_chart
from sitegen.citation import bibtex, script_json

BASE_URL = "https://user.github.io/repo/"
SANA = "papers/sana-video-efficient-video-generation-with-block-linear-diffusion-transformer/"
SCRIPT_TITLE = "</script><script>alert(1)</script> Fast Attention"
TEMPLATE_TITLE = "Caching {{ 7*7 }} Tokens {% if x %} on M^3VIR {\\delta} & 50% more_"
HOSTILE_ABSTRACT = ("We show </script><script>alert(2)</script> and {{ 7*7 }} <!-- & more, "
                    "reaching 583 FPS on an RTX 4090 GPU.")


VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "source", "track", "wbr"})


class Page(HTMLParser):
    """What the tests read from a page: meta tags, JSON-LD, elements by id and class, text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, list[str]] = {}
        self.links: list[dict[str, str]] = []
        self.json_ld: list[str] = []
        self.scripts: list[dict[str, str]] = []
        self.text_of: dict[str, str] = {}
        self._stack: list[tuple[str, dict[str, str]]] = []
        self._capture: list[list] = []  # [key, tag, depth, parts]
        self._in_ld = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "meta" and ("name" in a or "property" in a):
            self.meta.setdefault(a.get("name") or a["property"], []).append(a.get("content", ""))
        elif tag == "link":
            self.links.append(a)
        elif tag == "script":
            self.scripts.append(a)
            self._in_ld = a.get("type") == "application/ld+json"
        if tag in VOID:
            return
        self._stack.append((tag, a))
        for key in ([f"#{a['id']}"] if "id" in a else []) + [tag]:
            if key not in self.text_of:
                self._capture.append([key, tag, len(self._stack), []])

    def handle_startendtag(self, tag, attrs):  # <rect/>: nothing to close
        if tag in ("meta", "link"):
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_ld = False
        while self._stack:
            open_tag, _ = self._stack.pop()
            for capture in [c for c in self._capture if c[2] > len(self._stack)]:
                self.text_of[capture[0]] = "".join(capture[3])
                self._capture.remove(capture)
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._in_ld:
            self.json_ld.append(data)
        for capture in self._capture:
            capture[3].append(data)


def read(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text("utf-8") if not path.endswith(".html") \
        else (site / path).read_text("utf-8")


@pytest.fixture(scope="module")
def seed(built_site) -> Path:
    return built_site(search=False)


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory) -> Path:
    """A site whose titles and abstract try to break out of <script>, Jinja and BibTeX."""
    root = tmp_path_factory.mktemp("hostile-front")
    (root / "content" / "listings").mkdir(parents=True)
    meta = "  • 3 authors\n·\nMay 3, 2024 5"
    listing = "Daily Papers\n\nNov 4\n\n" + "".join(
        f"{title}\n\n{HOSTILE_ABSTRACT}\n\n{meta}\n\n" for title in (SCRIPT_TITLE, TEMPLATE_TITLE))
    (root / "content" / "listings" / "hostile.txt").write_text(listing, "utf-8")
    out = root / "site"
    result = run_sitegen("build", "--source", str(root), "--out", str(out), "--quiet", "--no-search")
    assert result.returncode == 0, result.stderr
    return out


def paper_dirs(site: Path) -> list[Path]:
    return sorted(p for p in (site / "papers").iterdir() if p.is_dir())


# --- Paper pages: Scholar, schema.org, OpenGraph, BibTeX ---------------------------------------

def test_paper_page_tells_machines_what_it_is(built_site) -> None:
    site = built_site(BASE_URL, search=False)
    page = Page(read(site, SANA))
    url = BASE_URL + SANA
    title = "SANA-Video: Efficient Video Generation with Block Linear Diffusion Transformer"
    assert page.meta["citation_title"] == [title]
    assert page.meta["citation_publication_date"] == ["2025/09/29"]
    assert page.meta["citation_abstract_html_url"] == [url]
    assert page.meta["og:type"] == ["article"] and page.meta["og:title"] == [title]
    assert page.meta["og:url"] == [url]
    assert page.meta["description"][0].startswith("We introduce SANA-Video")
    assert page.meta["og:description"] == page.meta["description"]
    assert [link["href"] for link in page.links if link.get("rel") == "canonical"] == [url]
    assert len(page.json_ld) == 1
    data = json.loads(page.json_ld[0])
    assert data["@type"] == "ScholarlyArticle" and data["@context"] == "https://schema.org"
    assert (data["name"], data["datePublished"], data["url"]) == (title, "2025-09-29", url)
    assert data["author"] == {"@type": "Organization", "name": "NVIDIA"}
    assert "Video generation" in data["keywords"]  # topic names, not slugs
    assert set(page.meta["citation_keywords"]) == set(data["keywords"])


def test_canonical_only_when_the_address_is_known(seed) -> None:
    """Canonical and og:url must be absolute URLs; a site built without base_url has neither."""
    page = Page(read(seed, SANA))
    assert not [link for link in page.links if link.get("rel") == "canonical"]
    assert "og:url" not in page.meta


def test_bibtex_with_what_the_listing_knows(seed) -> None:
    page = Page(read(seed, SANA))
    entry = page.text_of["#bibtex"]
    assert entry.startswith("@misc{sana2025,\n")
    # double braces: BibTeX styles keep the title's capitals (SANA, NVIDIA) as written
    assert "  title = {{SANA-Video: Efficient Video Generation with Block Linear Diffusion Transformer}},\n" in entry
    assert "  year = {2025},\n  month = sep,\n" in entry
    assert entry.endswith("  note = {Organisation: NVIDIA}\n}\n")  # no url: without a base URL it is relative


def test_bibtex_escapes_latex() -> None:
    from dataclasses import replace

    from sitegen.papers import Paper
    paper = Paper(slug="m-3vir", key="k", title=TEMPLATE_TITLE, abstract=None, published=None,
                  published_year_inferred=False, upvotes=None, authors_count=1, organization=None,
                  links=(), sources=(), listings=())
    entry = bibtex(paper, "https://x.test/p/")
    title = entry.split("title = {{", 1)[1].split("}},\n", 1)[0]
    assert title == (r"Caching \{\{ 7*7 \}\} Tokens \{\% if x \%\} on M\^{}3VIR "
                     r"\{\textbackslash{}delta\} \& 50\% more\_")
    assert entry.count("{") - entry.count(r"\{") == entry.count("}") - entry.count(r"\}")
    assert "note = {1 author}" in bibtex(replace(paper, authors_count=1), "u")
    assert "year" not in entry


def test_script_json_cannot_close_the_script_element() -> None:
    data = {"name": "</script><!-- <script> & \u2028\u2029"}
    text = str(script_json(data))
    assert "<" not in text and ">" not in text and "&" not in text and "\u2028" not in text
    assert json.loads(text) == data


def test_hostile_titles_stay_text(hostile_site) -> None:
    for directory in paper_dirs(hostile_site):
        html = (directory / "index.html").read_text("utf-8")
        page = Page(html)
        assert "<script>alert" not in html
        assert len(page.json_ld) == 1, "the JSON-LD element was closed early"
        data = json.loads(page.json_ld[0])
        assert data["name"] in (SCRIPT_TITLE, TEMPLATE_TITLE)
        assert data["abstract"] == HOSTILE_ABSTRACT
        assert page.text_of["h1"] == data["name"]
        assert page.meta["citation_title"] == [data["name"]]
        assert "{{ 7*7 }}" in page.text_of["#main"] and "49" not in page.text_of["#main"]
        assert all(s["src"].startswith("/static/") for s in page.scripts if "src" in s)
    home = (hostile_site / "index.html").read_text("utf-8")
    assert "&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; Fast Attention" in home


# --- One paper card, everywhere -----------------------------------------------------------------

CARD = re.compile(r'<article class="card">\s*<(h[23]) class="card-title"><a href="([^"]+)">.*?</article>', re.S)


def cards(html: str) -> dict[str, str]:
    """Card markup by paper URL, with the heading level folded so lists can be compared."""
    return {m[2]: re.sub(r"</?h[23]", "<h", m[0]) for m in CARD.finditer(html)}


def test_one_card_on_every_list(seed) -> None:
    pages = {path: cards(read(seed, path)) for path in
             ("", "listings/000-e0f5f16c55c27fa1/", "topics/video-generation/", "hardware/h100/",
              "hardware/nvidia/", "topics/video-generation/upvotes/")}
    for path, found in pages.items():
        assert found, f"no paper cards on /{path}"
    by_url: dict[str, set[str]] = {}
    for found in pages.values():
        for url, markup in found.items():
            by_url.setdefault(url, set()).add(markup)
    shared = [url for url, versions in by_url.items() if sum(url in f for f in pages.values()) > 1]
    assert shared
    for url in shared:
        assert len(by_url[url]) == 1, f"{url} is shown with two different cards"
    sana = pages[""]["/" + SANA]
    assert 'class="chip chip-topic" href="/topics/video-generation/">Video generation</a>' in sana
    assert 'class="chip chip-hardware" href="/hardware/h100/"><span class="visually-hidden">Hardware: </span>NVIDIA H100</a>' in sana
    assert '<p class="card-abstract">We introduce SANA-Video' in sana


def test_chips_link_to_pages_that_exist(seed) -> None:
    html = "".join(read(seed, p) for p in ("", "listings/000-e0f5f16c55c27fa1/", "papers/"))
    targets = set(re.findall(r'class="chip chip-(?:topic|hardware)" href="/([^"]+)"', html))
    assert len(targets) > 20
    for target in targets:
        assert (seed / target / "index.html").is_file(), target


def test_no_chips_without_terms(hostile_site) -> None:
    """A site without classification rules shows cards without an empty chip list."""
    html = read(hostile_site, "")
    assert 'class="card"' in html and 'class="chips"' not in html


def test_previous_and_next_follow_the_first_listing(seed) -> None:
    listing = read(seed, "listings/000-e0f5f16c55c27fa1/")
    order = [m[2] for m in CARD.finditer(listing)]
    assert len(order) > 3
    for i, url in enumerate(order):
        page = read(seed, url.strip("/"))
        listings = re.findall(r'<li><a href="/listings/([^/]+)/">', page.split('id="sources-heading"')[1])
        if listings[0] != "000-e0f5f16c55c27fa1":
            continue
        prev = re.search(r'href="([^"]+)" rel="prev"', page)
        nxt = re.search(r'href="([^"]+)" rel="next"', page)
        assert (prev[1] if prev else None) == (order[i - 1] if i else None)
        assert (nxt[1] if nxt else None) == (order[i + 1] if i + 1 < len(order) else None)


# --- Charts -------------------------------------------------------------------------------------

def figures(html: str) -> list[str]:
    return re.findall(r'<figure class="chart.*?</figure>', html, re.S)


def table_rows(figure: str) -> list[tuple[str, int]]:
    return [(label, int(value)) for label, value in
            re.findall(r'<tr><th scope="row">([^<]*)</th><td>(\d+)</td></tr>', figure)]


def test_hardware_overview_charts(seed) -> None:
    html = read(seed, "hardware/")
    vendor, klass = figures(html)
    assert "<figcaption>Papers per vendor</figcaption>" in vendor
    assert "<figcaption>Papers per class</figcaption>" in klass
    chips = dict(re.findall(r'href="/hardware/[^"]+/">([^<]+) <span class="count">(\d+)', html))
    for figure in (vendor, klass):
        rows = table_rows(figure)
        assert rows and all(chips[label.replace("&amp;", "&")] == str(value) for label, value in rows)
        assert [value for _, value in rows] == sorted((value for _, value in rows), reverse=True)
        ident = re.search(r'<svg role="img" aria-labelledby="([^"]+)"', figure)[1]
        assert f'<title id="{ident}">' in figure
        assert '<div class="visually-hidden"><table><caption>' in figure


def test_term_pages_chart_papers_per_year(seed) -> None:
    for path in ("topics/video-generation/", "hardware/h100/", "hardware/nvidia/"):
        html = read(seed, path)
        (figure,) = figures(html)
        rows = table_rows(figure)
        years = [int(label) for label, _ in rows]
        assert years == list(range(years[0], years[-1] + 1))
        count = int(re.search(r'<p class="muted">(\d+) paper', html)[1])
        undated = re.search(r'<span class="chart-note">\((\d+) undated papers? not shown\)</span></figcaption>', figure)
        assert sum(v for _, v in rows) + (int(undated[1]) if undated else 0) == count
        assert 'aria-labelledby="chart-years-title"' in figure


def test_charts_are_deterministic_and_escaped() -> None:
    bars = [Bar("<b>&", 3), Bar("Data-centre GPU", 10), Bar("A label far longer than fits", 1)]
    first = bar_chart(bars, "class id!", "Papers per class", "Class")
    assert first == bar_chart(list(bars), "class id!", "Papers per class", "Class")
    assert "<b>" not in first and "&lt;b&gt;&amp;" in first
    assert 'id="chart-class-id--title"' in first
    assert "A label far longer th…" in first and "A label far longer than fits</th>" in first
    assert column_chart([], "x", "t", "Year") == "" and bar_chart([], "x", "t", "L") == ""
    assert per_year([2021, None, 2019, 2021]) == [Bar("2019", 1), Bar("2020", 0), Bar("2021", 2)]

    class P:
        def __init__(self, year):
            self.year = year
    chart = year_chart([P(2020), P(None), P(2022)], "years")
    assert '<figcaption>Papers per year <span class="chart-note">(1 undated paper not shown)</span>' in chart
    assert chart.count('<rect class="bar"') == 2  # the empty year has no bar, but a label
    assert ">2021</text>" in chart


# --- Self-contained pages -----------------------------------------------------------------------

def test_no_request_leaves_the_site(seed) -> None:
    """No web fonts, no CDN: every script, style sheet and icon is the site's own."""
    for html_file in seed.rglob("*.html"):
        html = html_file.read_text("utf-8")
        for tag in re.findall(r"<(?:script|link|img|iframe|source|video|audio)\b[^>]*>", html):
            for url in re.findall(r'\b(?:src|href)="([^"]*)"', tag):
                if 'rel="alternate"' not in tag:
                    assert url.startswith("/"), (html_file, tag)
        assert "@import" not in html and "url(http" not in html
    for asset in ("static/style.css", "static/site.js"):
        text = (ROOT / asset).read_text("utf-8")
        assert "http:" not in text and "https:" not in text and "@import" not in text and "@font-face" not in text


def test_javascript_is_small_and_deferred(seed) -> None:
    assert len((ROOT / "static/site.js").read_bytes()) < 6000
    assert len((ROOT / "static/style.css").read_bytes()) < 20000
    home = read(seed, "")
    assert re.search(r'<script src="/static/site\.js\?v=[0-9a-f]+" defer></script>', home)
    inline = re.findall(r"<script>(.*?)</script>", home, re.S)
    assert len(inline) == 1 and len(inline[0]) < 200  # the theme, set before the first paint


def test_print_stylesheet_for_paper_pages() -> None:
    css = (ROOT / "static/style.css").read_text("utf-8")
    first_rule = css.split("@media print {", 1)[1].split("{", 1)[0]
    for hidden in (".masthead", ".site-footer", ".actions", ".sidebar", ".pager"):
        assert hidden in first_rule
