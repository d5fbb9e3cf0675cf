"""`sitegen check`: the seed site passes at / and under /repo/; broken sites fail with a list."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import run_sitegen
from sitegen.check import check_site

BASE_URL = "https://user.github.io/repo/"
LISTING = """Nov 4

Checking Links in Static Sites

We check every link of a static site, on a single RTX 4090, in well under a second. Code at https://github.com/example/check.

  • 2 authors
·
Oct 3 4
"""
BROKEN_404 = """{% extends "base.html" %}
{% block main %}
<h1>Page not found</h1>
<p><a href="{{ url('nowhere/') }}">a page that does not exist</a>
<a href="{{ url('papers/') }}#no-such-id">a missing anchor</a>
<a href="https://example.com/paper).">copy debris</a>
<a href="https://example.com/{here}">braces</a>
<a href="https://en.wikipedia.org/wiki/Static_(disambiguation)">balanced parentheses are fine</a>
<a href="mailto:someone@example.com">mail is not checked</a>
<img src="{{ url('static/missing.png') }}" srcset="{{ url('static/favicon.svg') }} 1x, {{ url('static/missing@2x.png') }} 2x" alt=""></p>
{% endblock %}
"""


def small_site(root: Path, template: str | None = None) -> Path:
    (root / "content" / "listings").mkdir(parents=True)
    (root / "content" / "listings" / "a.txt").write_text(LISTING, encoding="utf-8")
    if template:
        (root / "templates").mkdir()
        (root / "templates" / "404.html").write_text(template, encoding="utf-8")
    return root


@pytest.mark.slow
@pytest.mark.parametrize("base_url", ["", BASE_URL])
def test_seed_site_passes(seed_source, base_url) -> None:
    args = ["check", "--source", str(seed_source)] + (["--base-url", base_url] if base_url else [])
    result = run_sitegen(*args)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Checked ") and lines[0].endswith("no problems.")


@pytest.mark.slow
def test_an_existing_build_is_checked_as_it_is(built_site) -> None:
    site = built_site(BASE_URL)
    before = sorted(p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file())
    result = run_sitegen("check", "--source", str(site.parent), "--out", str(site), "--base-url", BASE_URL)
    assert result.returncode == 0, result.stdout
    assert sorted(p.stat().st_mtime_ns for p in site.rglob("*") if p.is_file()) == before
    # The same build checked as if it were served at /: every internal link is outside that path.
    wrong = run_sitegen("check", "--source", str(site.parent), "--out", str(site))
    assert wrong.returncode == 1
    assert "outside the site's base path /" not in wrong.stdout  # /repo/... is under / ...
    assert "no file repo/" in wrong.stdout  # ... but names files that do not exist


def test_broken_links_are_listed_and_fail(tmp_path) -> None:
    source = small_site(tmp_path / "src", BROKEN_404)
    result = run_sitegen("check", "--source", str(source), "--base-url", BASE_URL)
    assert result.returncode == 1
    out = result.stdout
    assert "404.html: broken link /repo/nowhere/ (no file nowhere/index.html in the output)" in out
    assert "404.html: broken link /repo/papers/#no-such-id (no id 'no-such-id' on papers/index.html)" in out
    assert "malformed external link https://example.com/paper)." in out
    assert "malformed external link https://example.com/{here}" in out
    assert "broken link /repo/static/missing.png" in out
    assert "broken link /repo/static/missing@2x.png" in out
    assert "wikipedia" not in out and "mailto" not in out and "favicon" not in out
    assert out.strip().splitlines()[-1].endswith("problems.")


@pytest.mark.slow
def test_a_feed_that_does_not_parse_fails(built_site, tmp_path) -> None:
    site = tmp_path / "site"
    shutil.copytree(built_site(), site, symlinks=True)
    (site / "feed.xml").write_text("<feed><entry></feed>")
    (site / "sitemap.xml").unlink()
    result = run_sitegen("check", "--source", str(tmp_path), "--out", str(site))
    assert result.returncode == 1
    assert "feed.xml: not well-formed XML" in result.stdout
    assert "sitemap.xml: missing" in result.stdout


@pytest.mark.slow
def test_a_build_without_search_index_fails_the_check(built_site, tmp_path) -> None:
    result = run_sitegen("check", "--source", str(tmp_path), "--out", str(built_site(search=False)))
    assert result.returncode == 1
    assert "search/index.html: search bundle /pagefind/ has no pagefind.js" in result.stdout


@pytest.mark.parametrize("command", ["build", "check"])
@pytest.mark.parametrize("url", ["user.github.io/repo", "ftp://user.github.io/repo/", "https:///repo/",
                                 "https://user.github.io/repo/?x=1"])
def test_bad_base_urls_are_refused_with_an_example(tmp_path, command, url) -> None:
    source = small_site(tmp_path / "src")
    result = run_sitegen(command, "--source", str(source), "--base-url", url)
    assert result.returncode == 1
    assert "is not an absolute http(s) URL" in result.stderr
    assert "for example https://user.github.io/repo/" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (source / "site").exists()


def test_reading_pages_in_parallel_finds_the_same(tmp_path) -> None:
    source = small_site(tmp_path / "src", BROKEN_404)
    assert run_sitegen("build", "--source", str(source), "--out", str(tmp_path / "site")).returncode == 0
    serial = check_site(tmp_path / "site", "", workers=1)
    assert serial.problems and serial.internal > 50
    assert check_site(tmp_path / "site", "", workers=2) == serial


def test_check_builds_into_a_new_out_directory_and_keeps_it(tmp_path) -> None:
    source = small_site(tmp_path / "src")
    out = tmp_path / "fresh"
    result = run_sitegen("check", "--source", str(source), "--out", str(out))
    assert (out / ".sitegen-manifest").is_file() and (out / "pagefind" / "pagefind.js").is_file()
    assert result.returncode == 0, result.stdout + result.stderr
    assert (out / ".sitegen-manifest").is_file() and (out / "pagefind" / "pagefind.js").is_file()
    assert "Checked " in result.stdout
