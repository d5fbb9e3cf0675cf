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

@pytest.mark.slow
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
    # authors by name from content/metadata.toml (the listing gives only the organisation)
    assert data["author"][0] == {"@type": "Person", "name": "Junsong Chen"} and len(data["author"]) == 20
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
    assert "  author = {Junsong Chen and Yuyang Zhao and " in entry and "  eprint = {2509.24695},\n" in entry
    # the url is arXiv's, absolute; a site without a base URL never gives its own relative one
    assert entry.endswith("  url = {https://arxiv.org/abs/2509.24695}\n}\n")


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
             ("", "listings/daily-papers-4-november-2025/", "topics/video-generation/", "hardware/h100/",
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
    html = "".join(read(seed, p) for p in ("", "listings/daily-papers-4-november-2025/", "papers/"))
    targets = set(re.findall(r'class="chip chip-(?:topic|hardware)" href="/([^"]+)"', html))
    assert len(targets) > 20
    for target in targets:
        assert (seed / target / "index.html").is_file(), target


def test_no_chips_without_terms(hostile_site) -> None:
    """A site without classification rules shows cards without an empty chip list."""
    html = read(hostile_site, "")
    assert 'class="card"' in html and 'class="chips"' not in html


def test_previous_and_next_follow_the_first_listing(seed) -> None:
    listing = read(seed, "listings/daily-papers-4-november-2025/")
    order = [m[2] for m in CARD.finditer(listing)]
    assert len(order) > 3
    for i, url in enumerate(order):
        page = read(seed, url.strip("/"))
        listings = re.findall(r'<li><a href="/listings/([^/]+)/">', page.split('id="sources-heading"')[1])
        if listings[0] != "daily-papers-4-november-2025":
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
    vendor, klass, generation = figures(html)
    assert "<figcaption>Papers per GPU generation, oldest first</figcaption>" in generation
    assert "<figcaption>Papers per vendor</figcaption>" in vendor
    assert "<figcaption>Papers per class</figcaption>" in klass
    chips = dict(re.findall(r'href="/hardware/[^"]+/">([^<]+) <span class="count">(\d+)', html))
    for figure in (vendor, klass):
        rows = table_rows(figure)
        assert rows and all(chips[label.replace("&amp;", "&")] == str(value) for label, value in rows)
        assert [value for _, value in rows] == sorted((value for _, value in rows), reverse=True)
        ident = re.search(r'<svg aria-labelledby="([^"]+)"', figure)[1]
        assert f'<title id="{ident}">' in figure
        assert '<div class="visually-hidden"><table><caption>' in figure
        # every bar is a link to its term's page, named by its label and count
        links = re.findall(r'<a href="/hardware/([^"]+)/" aria-label="([^"]+): (\d+) papers?">', figure)
        assert [(label, int(n)) for _, label, n in links] == [(label.replace("&amp;", "&"), n) for label, n in rows]


def test_hardware_index_chips_by_paper_count(seed) -> None:
    html = read(seed, "hardware/")
    for section in re.findall(r'<ul class="chips term-chips">(.*?)</ul>', html, re.S):
        counts = [int(n) for n in re.findall(r'<span class="count">(\d+)', section)]
        assert counts == sorted(counts, reverse=True)


def test_term_pages_chart_papers_per_year(seed) -> None:
    for path in ("topics/video-generation/", "hardware/nvidia/"):
        html = read(seed, path)
        (figure,) = figures(html)
        rows = table_rows(figure)
        years = [int(label) for label, _ in rows]
        assert years == list(range(years[0], years[-1] + 1))
        count = int(re.search(r'<p class="muted">(\d+) paper', html)[1])
        undated = re.search(r'<span class="chart-note">\((\d+) undated papers? not shown\)</span></figcaption>', figure)
        assert sum(v for _, v in rows) + (int(undated[1]) if undated else 0) == count
        assert 'aria-labelledby="chart-years-title"' in figure
    # a column of a topic leads to that year's papers of the topic in the search
    assert 'href="/search/?topic=Video%20generation&amp;year=2025"' in read(seed, "topics/video-generation/")


def test_term_pages_without_a_telling_year_chart_chart_the_other_terms(seed) -> None:
    """Papers on the H100 (and on LLM kernel generation) span fewer than three years: the chart
    shows their topics instead,
    and a topic's chart the hardware its papers name, each bar a link."""
    for path, caption, other in (("hardware/h100/", "Topics of these papers", "topics"),
                                 ("topics/llm-kernel-generation/", "Hardware these papers name", "hardware")):
        (figure,) = figures(read(seed, path))
        assert f"<figcaption>{caption}</figcaption>" in figure
        rows = table_rows(figure)
        assert rows and [v for _, v in rows] == sorted((v for _, v in rows), reverse=True)
        assert len(re.findall(rf'<a href="/{other}/[^"]+/" aria-label=', figure)) == len(rows)


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
    assert year_chart([P(2020), P(2021)], "years") == ""  # two years say little
    assert year_chart([P(2020), P(2022), P(None), P(None), P(None)], "years") == ""  # most left out
    linked = year_chart([P(2020), P(2022)], "years", href="/search/?year={year}")
    assert '<a href="/search/?year=2020" aria-label="2020: 1 paper">' in linked
    assert 'href="/search/?year=2021"' not in linked  # no papers, no link


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


# --- What readers see, not build internals (issue 21) -------------------------------------------

def test_readers_see_no_build_internals(seed) -> None:
    """No listing file name, no 'undated', no '(year inferred)' on any page; listings are named
    by their title and addressed by it."""
    for html_file in seed.rglob("*.html"):
        html = html_file.read_text("utf-8")
        assert "e0f5f16c55c27fa1" not in html and "81cc37237c401a09" not in html, html_file
        assert ">undated<" not in html and "year inferred" not in html, html_file
    listing = read(seed, "listings/daily-papers-4-november-2025/")
    assert "<h1>Daily Papers, 4 November 2025</h1>" in listing
    assert "content/listings" not in listing
    assert sorted(p.name for p in (seed / "listings").iterdir() if p.is_dir()) == [
        "daily-papers-4-november-2025", "trending-papers-gpus-rendering-and-efficient-models"]
    papers = json.loads((seed / "papers.json").read_text("utf-8"))["papers"]
    assert any(s["file"] == "content/listings/000_e0f5f16c55c27fa1.txt" for p in papers for s in p["sources"])


def test_an_undated_paper_has_no_date_line(seed) -> None:
    papers = json.loads((seed / "papers.json").read_text("utf-8"))["papers"]
    undated = next(p for p in papers if not p["published"] and not p["upvotes"]
                   and not p["authors_count"] and not p["organization"])
    html = read(seed, undated["url"].strip("/"))
    assert 'class="paper-meta"' in html and "<time" not in html.split('class="paper-meta"')[1].split("</p>")[0]
    cards = [c for path in ("papers/", "papers/page/2/") for c in
             re.findall(r'<article class="card">.*?</article>', read(seed, path), re.S) if undated["url"] + '"' in c]
    assert cards and all('class="card-meta"' not in card for card in cards)


def test_listing_slugs_come_from_titles_and_dates() -> None:
    from sitegen.config import Config, ListingSettings
    from sitegen.listings import parse_listing
    from sitegen.papers import merge
    from sitegen.siteview import listing_views

    dated = parse_listing("Daily Papers\n\nNov 4\n\nA Title\n\n" + "An abstract that reads like prose. " * 4
                          + "\n\n  • 3 authors\n·\nMay 3, 2024 5\n", "content/listings/a.txt")
    titled = parse_listing("A Title Two\n" + "Another abstract that reads like prose. " * 4 + "\n",
                           "content/listings/b.txt")
    same = parse_listing("A Title Three\n" + "Another abstract that reads like prose. " * 4 + "\n",
                         "content/listings/c.txt")
    config = Config(root=Path("."), listings={"b.txt": ListingSettings(title="My Reading"),
                                              "c.txt": ListingSettings(title="My reading")})
    papers, _ = merge([dated, titled, same])
    views = listing_views([dated, titled, same], papers, config)
    assert [(v.slug, v.title) for v in views][:2] == [("daily-papers-4-november-2025", "Daily papers, 4 November 2025"),
                                                      ("my-reading", "My Reading")]
    assert re.fullmatch(r"my-reading-[0-9a-f]{6}", views[2].slug)  # apart, and stable (papers.unique_slugs)
    assert [v.key for v in views] == ["a", "b", "c"]  # what papers.json and the papers hold


def test_clip_cuts_before_a_word_without_a_stop_before_the_ellipsis() -> None:
    from sitegen.environment import clip

    assert clip("It is a comeback. And more words follow here", 17) == "It is a comeback…"
    assert clip("It is a comeback. And more words follow here", 18) == "It is a comeback…"
    assert clip("Short.", 20) == "Short."
    assert clip("Supercalifragilistic words", 10) == "Supercali…"  # one long word: cut inside it
    assert clip(None, 10) == ""


def test_topic_pages_link_their_feed(seed) -> None:
    html = read(seed, "topics/video-generation/")
    page = Page(html)
    alternates = [link for link in page.links if link.get("rel") == "alternate"
                  and link["href"] == "/topics/video-generation/feed.xml"]
    assert alternates and alternates[0]["type"] == "application/atom+xml"
    assert '<a class="feed-link" href="/topics/video-generation/feed.xml">' in html
    assert (seed / "topics/video-generation/feed.xml").is_file()


def test_breadcrumb_is_the_vendor_path_and_the_class_apart(seed) -> None:
    html = read(seed, "hardware/rtx-4090/")
    crumbs = re.findall(r'<li><a href="/hardware/([^"]*)">', html.split('class="breadcrumbs"')[1].split("</nav>")[0])
    assert crumbs == ["", "nvidia/", "ada-lovelace/"]
    assert 'Class: <a class="chip chip-hardware" href="/hardware/consumer-gpu/">Consumer GPU</a>' in html


def test_home_shows_the_title_once_and_most_upvoted_first(seed) -> None:
    html = read(seed, "")
    assert '<h1 class="visually-hidden">' in html
    assert html.index('id="popular-heading"') < html.index('id="recent-heading"') < html.index('id="listings-heading"')
    assert 'class="button density-toggle" type="button" aria-pressed="false" hidden' in html


def test_markdown_pages_show_no_escaped_markup(seed) -> None:
    assert "&lt;kbd&gt;" not in read(seed, "about/")
    from sitegen.scaffold import ABOUT_PAGE
    assert "<" not in ABOUT_PAGE


def test_pagefind_interfaces_that_no_page_uses_are_left_out(built_site) -> None:
    bundle = built_site() / "pagefind"
    assert (bundle / "pagefind.js").is_file()
    left = sorted(p.name for p in bundle.iterdir() if "-ui" in p.name or "highlight" in p.name)
    assert left == []


def test_pagefind_interfaces_are_kept_for_a_theme_that_names_them(tmp_path) -> None:
    from sitegen.search import UI_FILES, drop_ui, uses_ui

    assert not uses_ui([(ROOT / "templates" / "search.html").read_bytes(), (ROOT / "static/search.js").read_bytes()])
    assert uses_ui([b'<script src="/pagefind/pagefind-ui.js"></script>'])
    for name in (*UI_FILES, "pagefind.js"):
        (tmp_path / name).write_text("x")
    drop_ui(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["pagefind.js"]
