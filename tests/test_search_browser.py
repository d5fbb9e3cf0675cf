"""The search page in a real Chromium, with the site served under /repo/ as GitHub Pages does."""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

BASE_URL = "https://user.github.io/repo/"


@pytest.fixture(scope="module")
def papers_by_url(request):
    built_site = request.getfixturevalue("built_site")
    data = json.loads((built_site(BASE_URL) / "papers.json").read_text("utf-8"))
    return {urlsplit(p["url"]).path: p for p in data["papers"]}


def result_urls(page) -> list[str]:
    return page.locator("#search-results > li .card-title a").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))")


def hardware_of(site, url: str) -> set[str]:
    """The hardware filter values of the paper page at `url` (under /repo/)."""
    html = (site / url.removeprefix("/repo/") / "index.html").read_text("utf-8")
    return {unescape(value) for value in re.findall(r'data-pagefind-filter="hardware:([^"]*)"', html)}


def wait_for_status(page, pattern: str) -> str:
    page.wait_for_function("re => new RegExp(re).test(document.querySelector('#search-status').textContent)",
                           arg=pattern)
    return page.locator("#search-status").text_content()


def test_query_from_the_address_filters_and_sorts(built_site, static_server, page, papers_by_url):
    site = built_site(BASE_URL)
    base = static_server(site, "/repo/")
    transferred: list[int] = []

    fetched: list[str] = []

    def count(response) -> None:
        fetched.append(urlsplit(response.url).path)
        try:
            transferred.append(len(response.body()))
        except Exception:  # redirects and aborted requests have no body
            pass

    page.on("response", count)
    page.goto(base + "search/?q=gaussian+splatting")
    status = wait_for_status(page, r"papers? for")
    page.wait_for_selector("#search-results > li .search-excerpt mark")
    first_query_bytes = sum(transferred)
    assert not [path for path in fetched if "/pagefind/filter/" in path], "menus come with the page"
    total = int(re.match(r"(\d+)", status)[1])
    urls = result_urls(page)
    assert total >= 5 and len(urls) == min(total, 20)
    assert all(url.startswith("/repo/papers/") for url in urls), urls
    splatting = [u for u in urls if "splatting" in (papers_by_url[u]["title"] + " "
                                                    + (papers_by_url[u]["abstract"] or "")).lower()]
    assert len(splatting) >= len(urls) * 0.8
    first = page.locator("#search-results > li").first
    meta = first.locator(".card-meta")
    assert meta.count() == 0 or meta.text_content().strip()  # a date or upvotes, else no line
    excerpt = first.locator(".search-excerpt").inner_html()
    assert "<mark>" in excerpt and "<script" not in excerpt
    assert page.input_value("#search-q") == "gaussian splatting"

    # Narrow by hardware: a piece of hardware that some, not all, of these papers ran on.
    options = page.locator("#search-hardware option").evaluate_all("os => os.map(o => o.value)")[1:]
    counts: dict[str, int] = {}
    for url in urls:
        for name in hardware_of(site, url):
            counts[name] = counts.get(name, 0) + 1
    usable = sorted((name for name in counts if name in options and counts[name] < len(urls)),
                    key=lambda name: (-counts[name], name))
    if not usable:
        pytest.skip("the seed site has no hardware classification yet (content/rules.toml)")
    hardware = usable[0]
    page.select_option("#search-hardware", hardware)
    wait_for_status(page, re.escape(f"in {hardware}."))
    narrowed = result_urls(page)
    assert 0 < len(narrowed) < total
    if len(narrowed) <= 20:
        assert not page.locator("#search-more").is_visible()
    assert all(hardware in hardware_of(site, url) for url in narrowed)
    query = parse_qs(urlsplit(page.url).query)
    assert query["q"] == ["gaussian splatting"] and query["hardware"] == [hardware]

    # Sort by upvotes: the order follows the upvote counts.
    page.select_option("#search-sort", "upvotes")
    page.wait_for_function("() => new URLSearchParams(location.search).get('sort') === 'upvotes'")
    page.wait_for_timeout(200)
    votes = [papers_by_url[url]["upvotes"] or 0 for url in result_urls(page)]
    assert votes == sorted(votes, reverse=True)
    assert page.console_errors == []
    print(f"\nfirst query transferred {first_query_bytes} bytes")


def test_typing_updates_results_and_address(built_site, static_server, page, papers_by_url):
    base = static_server(built_site(BASE_URL), "/repo/")
    page.goto(base + "search/")
    wait_for_status(page, "Type words")
    page.fill("#search-q", "quantization")
    wait_for_status(page, "for “quantization”")
    assert parse_qs(urlsplit(page.url).query)["q"] == ["quantization"]
    assert result_urls(page)
    page.select_option("#search-year", "2024")
    wait_for_status(page, "in 2024")
    urls = result_urls(page)
    assert urls and all(papers_by_url[u]["published"].startswith("2024") for u in urls)
    page.fill("#search-q", "zzqxv nothing matches this")
    status = wait_for_status(page, "No papers found")
    assert "remove a filter" in status and result_urls(page) == []
    # Results are a list of links: Tab from the search box reaches them in order.
    page.fill("#search-q", "gaussian")
    wait_for_status(page, "for “gaussian”")
    assert page.locator("ol#search-results > li a").count() >= 1
    assert page.console_errors == []


def test_header_search_box_leads_to_results(built_site, static_server, page):
    base = static_server(built_site(BASE_URL), "/repo/")
    page.goto(base)
    page.fill("#site-search", "video generation")
    page.press("#site-search", "Enter")
    page.wait_for_url(re.compile(r"/repo/search/\?q=video\+generation$"))
    wait_for_status(page, "for “video generation”")
    assert result_urls(page)
    assert page.console_errors == []


def test_site_without_index_shows_an_empty_state(built_site, static_server, page):
    base = static_server(built_site(BASE_URL, search=False), "/repo/")
    page.goto(base + "search/?q=gaussian")
    status = wait_for_status(page, "not available")
    assert "no search index" in status
    assert page.locator("#search-q").is_disabled()
    assert all("pagefind" in error or "404" in error for error in page.console_errors)


def test_search_page_with_results_passes_axe(built_site, static_server, page):
    axe = pytest.importorskip("axe_playwright_python.sync_playwright")
    base = static_server(built_site(BASE_URL), "/repo/")
    page.goto(base + "search/?q=gaussian+splatting&sort=date")
    page.wait_for_selector("#search-results > li .search-excerpt mark")
    results = axe.Axe().run(page)
    assert results.violations_count == 0, [v["id"] for v in results.response["violations"]]


def test_show_more_results_moves_focus_to_the_first_new_one(built_site, static_server, page):
    base = static_server(built_site(BASE_URL), "/repo/")
    page.goto(base + "search/?sort=upvotes")
    wait_for_status(page, r"\d+ papers")
    assert len(result_urls(page)) == 20
    page.click("#search-more")
    page.wait_for_function("document.querySelectorAll('#search-results > li').length > 20")
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused == result_urls(page)[20]
    votes = [v for v in page.locator("#search-results .upvotes").all_text_contents()]
    assert votes  # upvotes are shown where a paper has them


def test_filter_menus_hold_what_the_index_holds(built_site, static_server, page):
    """The menus are written by the build; Pagefind's own filter counts must agree with them."""
    base = static_server(built_site(BASE_URL), "/repo/")
    page.goto(base + "search/?topic=Large+language+models")
    wait_for_status(page, "in Large language models")
    index = page.evaluate("""async () => {
        const pagefind = await import('/repo/pagefind/pagefind.js');
        await pagefind.options({baseUrl: '/repo/'});
        await pagefind.init();
        return await pagefind.filters();
    }""")
    for name in ("topic", "hardware", "year"):
        menu = page.locator(f"#search-{name} option").all_text_contents()[1:]
        expected = [f"{value} ({count})" for value, count in sorted(
            index[name].items(), key=lambda item: (-int(item[0]), "") if name == "year" else
            (item[0].casefold(), item[0]))]
        # hardware options are grouped (vendor, architecture, class, model), by name in a group
        assert menu and (sorted(menu) == sorted(expected) if name == "hardware" else menu == expected)
    groups = page.locator("#search-hardware optgroup").evaluate_all("els => els.map(e => e.label)")
    assert groups == ["Vendors", "Architectures", "Classes", "Models"]
    # a vendor counts what its hardware page lists: each model's papers count for its vendor
    nvidia = (built_site(BASE_URL) / "hardware" / "nvidia" / "index.html").read_text()
    listed = int(re.search(r"(\d+) papers?, including", nvidia)[1])
    hardware_menu = page.locator("#search-hardware option").all_text_contents()
    assert f"NVIDIA ({listed})" in hardware_menu and listed > index["hardware"]["NVIDIA GeForce RTX 4090"]
    assert page.input_value("#search-topic") == "Large language models"
    assert page.console_errors == []


def test_a_word_no_paper_has_is_no_exact_match(built_site, static_server, page):
    """Pagefind answers "zzzzqqq" with the "z" of a formula: said as such, and kept apart."""
    base = static_server(built_site(BASE_URL), "/repo/")
    page.goto(base + "search/?q=zzzzqqq")
    status = wait_for_status(page, "No exact match|No papers")
    assert status.startswith("No exact match for “zzzzqqq”") or status.startswith("No papers found")
    if status.startswith("No exact match"):
        assert "start the same way" in status
        assert page.locator("#search-results").get_attribute("aria-label") == "Near matches"
    page.fill("#search-q", "gaussian zzzzqqq")
    status = wait_for_status(page, "gaussian zzzzqqq")
    assert "No papers found" in status or "no paper has “zzzzqqq”" in status
    page.fill("#search-q", "gauss")  # the start of a word is an exact match
    status = wait_for_status(page, r"^\d+ papers? for “gauss”")
    assert page.locator("#search-results").get_attribute("aria-label") == "Search results"
    assert page.console_errors == []


def test_results_have_chips_and_an_excerpt_of_the_abstract(built_site, static_server, page, papers_by_url):
    base = static_server(built_site(BASE_URL), "/repo/")
    page.goto(base + "search/?q=gaussian")
    wait_for_status(page, r"papers? for")
    page.wait_for_selector("#search-results > li .search-excerpt")
    for item in page.locator("#search-results > li").all()[:10]:
        url = item.locator(".card-title a").get_attribute("href")
        paper = papers_by_url[url]
        chips = item.locator(".chip").all_text_contents()
        assert chips == paper["topics"] + ["Hardware: " + name for name in paper["hardware"]]
        for href in item.locator("a.chip").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
            assert re.fullmatch(r"/repo/(topics|hardware)/[^/]+/", href), href
        if item.locator(".search-excerpt").count():
            excerpt = item.locator(".search-excerpt").text_content()
            assert not excerpt.startswith(paper["title"][:20])  # the title is the card's heading
            words = excerpt.strip("…").split()
            assert " ".join(words[1:-1]) in " ".join((paper["abstract"] or "").split())
            assert excerpt.endswith("…") == (not " ".join(paper["abstract"].split()).endswith(words[-1]))
            assert not re.search(r"[.,;:]…$", excerpt)
    assert page.console_errors == []
