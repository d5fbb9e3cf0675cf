"""The preview server with real Chromium: pages reload by themselves and show build errors."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import copy_seed_source, run_sitegen
from serve_process import ServeProcess, free_port

expect = pytest.importorskip("playwright.sync_api").expect

LISTING = "content/listings/000_e0f5f16c55c27fa1.txt"
LISTING_PAGE = "listings/daily-papers-4-november-2025/"
TITLE = "HelpSteer2: Open-source dataset for training top-performing reward models"
NEW_TITLE = "HelpSteer9: A retitled dataset for reward models"
TIMEOUT = 20_000
"""Milliseconds to wait for the page to change by itself."""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    return copy_seed_source(tmp_path / "site")


def mark(page) -> None:
    """Tag the loaded document, so a reload (a new document) can be told from a DOM change."""
    page.evaluate("window.__beforeEdit = true")


def reloaded(page) -> bool:
    return page.evaluate("window.__beforeEdit === undefined")


def wait_for_text(page, text: str) -> None:
    page.wait_for_function("text => document.body.textContent.includes(text)", arg=text, timeout=TIMEOUT)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text
    path.write_text(text.replace(old, new), "utf-8")


def test_open_page_reloads_itself_after_a_listing_edit(page, site: Path):
    server = ServeProcess(site).started()
    try:
        page.goto(server.url + LISTING_PAGE)
        assert TITLE in page.text_content("main")
        mark(page)
        edit(site / LISTING, TITLE, NEW_TITLE)
        wait_for_text(page, NEW_TITLE)
        assert reloaded(page)
        assert TITLE not in page.text_content("main")
        assert page.console_errors == []
    finally:
        server.stop()


def test_the_open_pages_are_written_first_and_only_the_changed_ones_reload(page, site: Path, tmp_path: Path):
    """Each browser tells the server its page: a rebuild writes the open pages first and reloads
    them, then writes the rest; a browser whose page did not change stays as it is."""
    server = ServeProcess(site, "--out", str(tmp_path / "out")).started()
    about = page.context.new_page()
    try:
        page.goto(server.url + LISTING_PAGE)
        about.goto(server.url + "about/")
        mark(page)
        mark(about)
        lines, builds = len(server.stderr), server.builds()
        edit(site / LISTING, TITLE, NEW_TITLE)
        wait_for_text(page, NEW_TITLE)
        assert reloaded(page)
        server.wait_for_build(builds)
        log = server.stderr[lines:]
        first = next(i for i, line in enumerate(log) if "pages written in" in line)
        assert any(re.search(r"\d+ more files? written in", line) for line in log[first + 1:]), \
            f"the rest of the pages after the open one\n{''.join(log)}"
        page.wait_for_timeout(300)
        assert not reloaded(about), "the about page shows nothing that changed"
        builds = server.builds()
        edit(site / "content/pages/about.md", "This site collects", "Edited. This site collects")
        wait_for_text(about, "Edited.")
        assert reloaded(about)
        server.wait_for_build(builds)
        result = run_sitegen("build", "--source", str(site), "--out", str(tmp_path / "clean"), "-q", "--no-search")
        assert result.returncode == 0, result.stderr
        assert _html_of(tmp_path / "out") == _html_of(tmp_path / "clean"), "the output is a clean build's"
        assert page.console_errors == []
    finally:
        about.close()
        server.stop()


def _html_of(out: Path) -> dict[str, bytes]:
    return {path.relative_to(out).as_posix(): path.read_bytes() for path in sorted(out.rglob("*.html"))}


def test_build_error_overlay_then_reload_once_fixed(page, site: Path):
    server = ServeProcess(site).started()
    try:
        page.goto(server.url)
        good = page.text_content("main")
        mark(page)
        (site / "templates").mkdir()
        home = site / "templates/home.html"
        home.write_text('{% extends "base.html" %}\n{% block main %}\n<h1>{{ config.title </h1>\n'
                        '{% endblock %}\n', "utf-8")
        overlay = page.locator("#sitegen-error")
        overlay.wait_for(timeout=TIMEOUT)
        expect(overlay.locator(".sitegen-error-where")).to_have_text("templates/home.html:3")
        assert "template syntax error" in overlay.text_content()
        assert not reloaded(page) and page.text_content("main") == good  # the last good site

        # A new tab on the broken site gets the last good page, with the error over it.
        other = page.context.new_page()
        other.goto(server.url)
        other.locator("#sitegen-error").wait_for(timeout=TIMEOUT)
        assert other.text_content("main") == good
        other.close()

        home.write_text('{% extends "base.html" %}\n{% block main %}\n<h1>Fixed heading</h1>\n'
                        '{% endblock %}\n', "utf-8")
        wait_for_text(page, "Fixed heading")
        assert reloaded(page)
        assert page.locator("#sitegen-error").count() == 0
    finally:
        server.stop()


def test_error_text_is_shown_as_text_never_as_markup(page, site: Path):
    server = ServeProcess(site).started()
    try:
        page.goto(server.url)
        name = "<img src=x onerror=window.__pwned=1>.txt"
        (site / "content/listings" / name).write_bytes(b"\x80\x81 not utf-8")
        overlay = page.locator("#sitegen-error")
        overlay.wait_for(timeout=TIMEOUT)
        expect(overlay.locator(".sitegen-error-where")).to_have_text(f"content/listings/{name}:1")
        assert overlay.locator("img").count() == 0
        assert page.evaluate("window.__pwned") is None
        mark(page)
        (site / "content/listings" / name).unlink()
        page.wait_for_function("() => window.__beforeEdit === undefined", timeout=TIMEOUT)
        assert page.locator("#sitegen-error").count() == 0
    finally:
        server.stop()


def test_page_reconnects_and_reloads_after_the_server_restarts(page, site: Path):
    port = free_port()
    server = ServeProcess(site, port=port).started()
    try:
        page.goto(server.url + LISTING_PAGE)
        mark(page)
        assert server.stop() == 0
        edit(site / LISTING, TITLE, NEW_TITLE)  # while no server runs
        server = ServeProcess(site, port=port).started()
        wait_for_text(page, NEW_TITLE)
        assert reloaded(page)
    finally:
        server.stop()


def test_live_reload_under_a_base_path(page, site: Path):
    server = ServeProcess(site, "--base-url", "https://x.github.io/repo/").started()
    try:
        assert server.url.endswith("/repo/")
        page.goto(server.url + LISTING_PAGE)
        assert page.evaluate("location.pathname") == "/repo/" + LISTING_PAGE
        mark(page)
        edit(site / LISTING, TITLE, NEW_TITLE)
        wait_for_text(page, NEW_TITLE)
        assert reloaded(page)
        page.goto(server.url.removesuffix("repo/"))  # the root redirects to the site
        assert page.evaluate("location.pathname") == "/repo/"
    finally:
        server.stop()


def test_a_hidden_tab_lets_go_of_its_connection_and_catches_up_when_shown(page, site: Path):
    server = ServeProcess(site).started()
    try:
        page.goto(server.url + LISTING_PAGE)
        mark(page)
        page.evaluate("""() => { Object.defineProperty(document, 'visibilityState', {value: 'hidden',
            configurable: true}); document.dispatchEvent(new Event('visibilitychange')); }""")
        builds = server.builds()
        edit(site / LISTING, TITLE, NEW_TITLE)
        server.wait_for_build(builds)
        page.wait_for_timeout(500)
        assert not reloaded(page), "a hidden tab has no event stream"
        page.evaluate("""() => { Object.defineProperty(document, 'visibilityState', {value: 'visible',
            configurable: true}); document.dispatchEvent(new Event('visibilitychange')); }""")
        wait_for_text(page, NEW_TITLE)
        assert reloaded(page)
    finally:
        server.stop()

