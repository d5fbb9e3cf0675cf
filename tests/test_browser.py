"""The default theme in a real Chromium: navigation, theme, keyboard, citation copy, no-JS,
small screens, print, hostile text. The seed site is built once and served over HTTP."""

from __future__ import annotations

import re

import pytest

from conftest import run_sitegen

expect = pytest.importorskip("playwright.sync_api").expect

SANA = "papers/sana-video-efficient-video-generation-with-block-linear-diffusion-transformer/"
PAGES = {  # one of each kind of page
    "home": "",
    "paper": SANA,
    "listing": "listings/daily-papers-4-november-2025/",
    "topics": "topics/",
    "topic": "topics/video-generation/",
    "hardware": "hardware/",
    "hardware term": "hardware/h100/",
    "papers": "papers/",
    "search": "search/?q=gaussian",
    "about": "about/",
}


@pytest.fixture
def site(built_site, static_server) -> str:
    """Base URL of the seed site (with its search index), served under /repo/ like GitHub Pages."""
    return static_server(built_site("https://user.github.io/repo/"), "/repo/")


def focused_card_title(page) -> str | None:
    return page.evaluate("""() => {
        const a = document.activeElement;
        return a && a.matches('.card-title a') ? a.textContent : null; }""")


def test_home_to_topic_to_paper(site, page) -> None:
    page.goto(site)
    first = page.locator(".cards .card").first
    chip = first.locator("a.chip-topic").first
    topic = chip.text_content()
    chip.click()
    page.wait_for_url(re.compile(r"/repo/topics/[^/]+/$"))
    expect(page.locator("h1")).to_have_text(topic)
    card_link = page.locator(".cards .card-title a").first
    title = card_link.text_content()
    card_link.click()
    page.wait_for_url(re.compile(r"/repo/papers/[^/]+/$"))
    expect(page.locator("h1")).to_have_text(title)
    assert page.locator(f'.paper .chips a.chip-topic:text-is("{topic}")').count() == 1
    assert page.console_errors == []


def test_home_to_listing_to_paper_and_through_the_listing(site, page) -> None:
    page.goto(site)
    page.locator(".home-listings a[href$='/listings/daily-papers-4-november-2025/']").click()
    page.wait_for_url(re.compile(r"/listings/daily-papers-4-november-2025/$"))
    titles = page.locator(".cards .card-title a").all_text_contents()
    page.locator(".cards .card-title a").nth(1).click()
    expect(page.locator("h1")).to_have_text(titles[1])
    page.locator("a[rel=next]").click()
    expect(page.locator("h1")).to_have_text(titles[2])
    page.locator("a[rel=prev]").click()
    page.locator("a[rel=prev]").click()
    expect(page.locator("h1")).to_have_text(titles[0])
    assert page.locator("a[rel=prev]").count() == 0
    assert page.console_errors == []


@pytest.mark.parametrize("system", ["light", "dark"])
def test_theme_toggle_is_remembered(site, browser, system) -> None:
    context = browser.new_context(color_scheme=system)
    page = context.new_page()
    page.goto(site)
    toggle = page.locator(".theme-toggle")
    background = lambda: page.evaluate("getComputedStyle(document.body).backgroundColor")  # noqa: E731
    assert toggle.is_visible() and toggle.get_attribute("aria-pressed") == str(system == "dark").lower()
    before = background()
    toggle.click()
    other = "light" if system == "dark" else "dark"
    assert toggle.get_attribute("aria-pressed") == str(other == "dark").lower()
    assert background() != before
    page.goto(site + SANA)  # another page, and a reload: the choice holds from the first paint
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == other
    assert page.locator(".theme-toggle").get_attribute("aria-pressed") == str(other == "dark").lower()
    assert background() != before
    context.close()


def test_theme_is_set_before_the_first_paint(site, browser) -> None:
    """The stored theme is applied by the inline script in <head>, before the style sheet."""
    context = browser.new_context(color_scheme="light")
    context.add_init_script("localStorage.setItem('theme', 'dark')")
    page = context.new_page()
    seen = []
    page.expose_function("report", lambda theme: seen.append(theme))
    context.add_init_script("""document.addEventListener('readystatechange', () => {
        if (document.readyState === 'interactive') window.report(document.documentElement.dataset.theme || ''); },
        {once: true});""")
    page.goto(site)
    page.wait_for_load_state("load")
    assert seen == ["dark"]
    context.close()


def test_slash_j_k_arrows_escape(site, page) -> None:
    page.goto(site)
    titles = page.locator("main .cards .card-title a").all_text_contents()
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "site-search"
    page.keyboard.type("jk")  # typing in the box is typing, not navigation
    assert page.input_value("#site-search") == "jk"
    page.keyboard.press("Escape")
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.press("j")
    assert focused_card_title(page) == titles[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert focused_card_title(page) == titles[2]
    page.keyboard.press("k")
    assert focused_card_title(page) == titles[1]
    page.keyboard.press("ArrowDown")
    assert focused_card_title(page) == titles[2]
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowUp")  # stays on the first card
    assert focused_card_title(page) == titles[0]
    page.keyboard.press("Enter")  # focus is on a real link
    page.wait_for_url(re.compile(r"/papers/"))
    expect(page.locator("h1")).to_have_text(titles[0])
    assert page.console_errors == []


def test_j_starts_from_the_cards_on_screen(site, page) -> None:
    page.set_viewport_size({"width": 1280, "height": 700})
    page.goto(site + "listings/daily-papers-4-november-2025/")
    cards = page.locator("main .cards .card")
    cards.nth(10).scroll_into_view_if_needed()
    page.evaluate("window.scrollBy(0, 0)")
    page.keyboard.press("j")
    index = page.evaluate("""() => [...document.querySelectorAll('main .cards .card-title a')]
        .indexOf(document.activeElement)""")
    assert 5 <= index <= 11


def test_search_results_are_cards_for_the_keys(site, page) -> None:
    page.goto(site + "search/?q=gaussian")
    page.wait_for_selector("#search-results li .card-title a")
    assert re.match(r"\d+ papers? for", page.locator("#search-status").text_content())
    assert page.locator("#search-status").get_attribute("aria-live") == "polite"
    page.locator("h1").click()
    page.keyboard.press("j")
    first = page.locator("#search-results .card-title a").first.text_content()
    assert focused_card_title(page) == first
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "search-q"
    assert page.console_errors == []


def test_compact_list_is_remembered(site, browser) -> None:
    """The compact list: one or two lines a paper, chosen once, kept on every page and visit."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(site)
    toggle = page.locator(".density-toggle")
    cards = page.locator(".home-recent .card")
    height = lambda: sum(card.bounding_box()["height"] for card in cards.all()[:10])  # noqa: E731
    tall = height()
    assert toggle.get_attribute("aria-pressed") == "false" and page.locator(".card-abstract").first.is_visible()
    toggle.click()
    assert page.evaluate("document.documentElement.dataset.density") == "compact"
    assert toggle.get_attribute("aria-pressed") == "true"
    assert page.locator(".card-abstract").first.is_hidden()
    assert height() < tall / 2  # ten papers take less than half the room
    page.goto(site + "topics/video-generation/")  # another page, before its first paint
    assert page.evaluate("document.documentElement.dataset.density") == "compact"
    assert page.locator(".density-toggle").get_attribute("aria-pressed") == "true"
    page.locator(".density-toggle").click()
    page.reload()
    assert page.evaluate("document.documentElement.dataset.density") is None
    context.close()


def test_keyboard_help_only_where_the_keys_work(site, browser) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.goto(site)
    assert page.locator(".site-footer .keys").is_visible()
    assert page.locator(".site-footer .keys-cards").is_visible()
    page.goto(site + SANA)  # related papers are beside the paper, not a list to move through
    assert page.locator(".site-footer .keys").is_visible()
    assert page.locator(".site-footer .keys-cards").is_hidden()
    page.locator("h1").click()
    page.keyboard.press("j")
    assert focused_card_title(page) is None
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(site)
    assert page.locator(".site-footer .keys").is_hidden()  # a phone has no keyboard to speak of
    context.close()


def test_phones_see_most_upvoted_first_and_one_search_box(site, browser) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(site)
    popular = page.locator("#popular-heading").bounding_box()["y"]
    assert popular < page.locator("#recent-heading").bounding_box()["y"] and popular < 844
    page.goto(site + "search/?q=gaussian")
    page.wait_for_selector("#search-results li")
    assert page.locator("#site-search").is_hidden() and page.locator("#search-q").is_visible()
    assert page.locator("#search-results li").first.bounding_box()["y"] < 600
    context.close()


@pytest.mark.parametrize("name", list(PAGES))
def test_no_console_errors(site, page, name) -> None:
    page.goto(site + PAGES[name])
    if name == "search":
        page.wait_for_selector("#search-results li")
    page.wait_for_load_state("networkidle")
    assert page.console_errors == []


def test_copy_citation(site, browser) -> None:
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.goto(site + SANA)
    page.get_by_role("button", name="Copy citation").click()
    expect(page.locator(".copy-status")).to_have_text("Citation copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("@misc{sana2025,") and copied == page.locator("#bibtex").text_content()
    context.close()


def test_pages_work_without_javascript(site, browser) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(site + SANA)
    assert page.locator(".theme-toggle").is_hidden()
    assert page.locator("button.copy").is_hidden()
    assert page.locator(".density-toggle").count() == 0  # a paper page has no list of papers
    assert page.locator("#bibtex").is_hidden()
    page.locator(".cite summary").click()  # the citation is there without JS
    assert page.locator("#bibtex").is_visible()
    assert "@misc{sana2025," in page.locator("#bibtex").text_content()
    page.locator("a[rel=next]").click()
    page.locator("nav[aria-label=Sections] a", has_text="Hardware").click()
    page.locator("a.chip", has_text="NVIDIA H100").first.click()
    expect(page.locator("h1")).to_have_text("NVIDIA H100")
    assert page.locator(".density-toggle").is_hidden()  # the cards stay
    page.locator("nav.sort a").first.click()  # the other order is a page of its own
    expect(page).to_have_url(re.compile(r"/upvotes/"))
    context.close()


@pytest.mark.parametrize("width", [320, 375, 768, 1280, 1920])
def test_no_sideways_scrolling(site, browser, width) -> None:
    context = browser.new_context(viewport={"width": width, "height": 800})
    page = context.new_page()
    for path in ("", SANA, "hardware/", "hardware/h100/", "search/?q=gaussian"):
        page.goto(site + path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, (path, width, overflow)
    context.close()


def test_print_shows_the_paper_only(site, page) -> None:
    page.goto(site + SANA)
    page.emulate_media(media="print")
    for hidden in (".masthead", ".site-footer", ".actions", ".sidebar", ".pager"):
        assert page.locator(hidden).is_hidden(), hidden
    assert page.locator("h1").is_visible() and page.locator(".abstract").is_visible()


def test_hostile_titles_show_as_text(tmp_path, static_server, page) -> None:
    root = tmp_path / "src"
    (root / "content" / "listings").mkdir(parents=True)
    titles = ["</script><script>alert(1)</script> Fast Attention", "Caching {{ 7*7 }} Tokens {% if x %}"]
    abstract = "We show </script><script>alert(2)</script> <img src=x onerror=alert(3)> and {{ 7*7 }}."
    meta = "  • 3 authors\n·\nMay 3, 2024 5"
    (root / "content" / "listings" / "h.txt").write_text(
        "Daily Papers\n\nNov 4\n\n" + "".join(f"{t}\n\n{abstract}\n\n{meta}\n\n" for t in titles), "utf-8")
    result = run_sitegen("build", "--source", str(root), "--out", str(tmp_path / "site"), "--quiet",
                         "--no-search")
    assert result.returncode == 0, result.stderr
    base = static_server(tmp_path / "site")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(base)
    assert sorted(page.locator(".card-title a").all_text_contents()) == sorted(titles)
    for i in range(2):
        page.goto(base)
        page.locator(".card-title a").nth(i).click()
        assert page.locator("h1").text_content() in titles
        assert abstract in page.locator(".abstract").text_content()
        page.wait_for_load_state("load")
    assert dialogs == [] and page.console_errors == []
