"""axe-core (axe-playwright-python) in a real Chromium: no serious or critical violation on any
kind of page, in the light and the dark theme, whether dark comes from the system or the toggle."""

from __future__ import annotations

import pytest

axe_module = pytest.importorskip("axe_playwright_python.sync_playwright")

PAGES = {
    "home": "",
    "paper": "papers/sana-video-efficient-video-generation-with-block-linear-diffusion-transformer/",
    "listing": "listings/daily-papers-4-november-2025/",
    "topics": "topics/",
    "topic": "topics/video-generation/",
    "hardware": "hardware/",
    "hardware term": "hardware/h100/",
    "search": "search/?q=gaussian",
    "404": "404.html",
}
BLOCKING = {"serious", "critical"}


@pytest.fixture(scope="module")
def axe():
    return axe_module.Axe()


@pytest.fixture
def site(built_site, static_server) -> str:
    return static_server(built_site())


def violations(page, axe) -> list[str]:
    found = axe.run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
            for v in found if v["impact"] in BLOCKING]


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_serious_violations(site, browser, axe, theme) -> None:
    context = browser.new_context(color_scheme=theme)
    page = context.new_page()
    problems = {}
    for name, path in PAGES.items():
        page.goto(site + path)
        if name == "search":
            page.wait_for_selector("#search-results li")  # scan the results, not the empty page
        found = violations(page, axe)
        if found:
            problems[name] = found
    context.close()
    assert problems == {}


def test_dark_from_the_toggle(site, browser, axe) -> None:
    """The toggle's dark theme on a light system: the same colours, checked the same way."""
    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    page.goto(site)
    page.locator(".theme-toggle").click()
    problems = {}
    for name in ("home", "paper", "hardware", "search"):
        page.goto(site + PAGES[name])
        assert page.evaluate("document.documentElement.dataset.theme") == "dark"
        if name == "search":
            page.wait_for_selector("#search-results li")
        found = violations(page, axe)
        if found:
            problems[name] = found
    context.close()
    assert problems == {}
