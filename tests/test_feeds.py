"""Atom feed, sitemap, robots.txt and .nojekyll: parse, and every URL honours the base URL."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import run_sitegen

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
BASE_URL = "https://user.github.io/repo/"


def feed(site: Path, path: str = "feed.xml") -> ET.Element:
    return ET.parse(site / path).getroot()


def sitemap_locs(site: Path) -> list[str]:
    return [loc.text for loc in ET.parse(site / "sitemap.xml").getroot().iter(f"{SITEMAP}loc")]


def html_pages(site: Path) -> list[str]:
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).as_posix().startswith("pagefind/"))


@pytest.mark.slow
@pytest.mark.parametrize("base_url, prefix", [("", "/"), (BASE_URL, BASE_URL)])
def test_feed_lists_the_newest_papers_under_the_base_url(built_site, base_url, prefix) -> None:
    site = built_site(base_url)
    root = feed(site)
    papers = json.loads((site / "papers.json").read_text())["papers"]
    entries = root.findall(f"{ATOM}entry")
    assert len(entries) == 50
    assert [e.findtext(f"{ATOM}title") for e in entries] == [p["title"] for p in papers[:50]]
    newest = max(p["published"] for p in papers if p["published"])
    assert root.findtext(f"{ATOM}updated") == f"{newest}T00:00:00Z"
    links = [e.find(f"{ATOM}link").get("href") for e in entries]
    assert links == [prefix + f"papers/{p['slug']}/" for p in papers[:50]]
    self_link = root.find(f"{ATOM}link[@rel='self']").get("href")
    assert self_link == prefix + "feed.xml"
    ids = [e.findtext(f"{ATOM}id") for e in entries]
    assert len(set(ids)) == 50 and all(i.startswith("urn:uuid:") for i in ids)
    for entry in entries:
        assert entry.findtext(f"{ATOM}updated").endswith("T00:00:00Z")


def test_entry_ids_do_not_depend_on_where_the_site_is_served(built_site) -> None:
    at_root = [e.findtext(f"{ATOM}id") for e in feed(built_site()).iter(f"{ATOM}entry")]
    at_repo = [e.findtext(f"{ATOM}id") for e in feed(built_site(BASE_URL)).iter(f"{ATOM}entry")]
    assert at_root == at_repo


@pytest.mark.parametrize("base_url, prefix", [("", "/"), (BASE_URL, BASE_URL)])
def test_sitemap_lists_every_page_under_the_base_url(built_site, base_url, prefix) -> None:
    site = built_site(base_url)
    locs = sitemap_locs(site)
    expected = sorted(prefix + page.removesuffix("index.html") for page in html_pages(site)
                      if page not in ("404.html", "search/index.html")
                      and not re.match(r"(topics|hardware)/[^/]+/upvotes/", page))
    assert locs == expected
    assert prefix in locs and prefix + "about/" in locs


@pytest.mark.parametrize("base_url, prefix", [("", "/"), (BASE_URL, BASE_URL)])
def test_terms_in_another_order_name_the_newest_first_page_canonical(built_site, base_url, prefix) -> None:
    """A term's most-upvoted pages show the papers of its own pages: left out of the sitemap,
    they name those as canonical."""
    site = built_site(base_url)
    assert not any("/upvotes/" in loc for loc in sitemap_locs(site))
    for path, canonical in (("hardware/h100/upvotes/index.html", "hardware/h100/"),
                            ("topics/llm/upvotes/index.html", "topics/llm/")):
        html = (site / path).read_text("utf-8")
        assert re.findall(r'<link rel="canonical" href="([^"]+)">', html) == [prefix + canonical]
    own = (site / "topics/llm/index.html").read_text("utf-8")
    assert own.count('rel="canonical"') == (1 if base_url else 0)


def test_robots_names_the_absolute_sitemap_when_the_base_url_is_known(built_site) -> None:
    with_base = (built_site(BASE_URL) / "robots.txt").read_text()
    assert "User-agent: *" in with_base
    assert "Sitemap: https://user.github.io/repo/sitemap.xml" in with_base
    without = (built_site() / "robots.txt").read_text()
    assert "Sitemap:" not in without.replace("# Set base_url", "")
    assert (built_site() / ".nojekyll").read_bytes() == b""


def test_pages_link_the_feed_and_assets_under_the_base_path(built_site) -> None:
    html = (built_site(BASE_URL) / "index.html").read_text("utf-8")
    assert 'type="application/atom+xml"' in html and 'href="/repo/feed.xml"' in html
    assert 'href="/repo/static/style.css?v=' in html


def test_hostile_titles_and_control_characters_stay_valid_xml(tmp_path) -> None:
    listing = ("Nov 4\n\nA <b>bold</b> & \"quoted\" title ]]> with \x0b a vertical tab\n\n"
               "An abstract with <script>alert(1)</script> & an ampersand, long enough to read as an "
               "abstract of a paper.\n\n  • 2 authors\n·\nOct 3 4\n")
    (tmp_path / "src" / "content" / "listings").mkdir(parents=True)
    (tmp_path / "src" / "content" / "listings" / "a.txt").write_text(listing, encoding="utf-8")
    result = run_sitegen("build", "--source", str(tmp_path / "src"), "--out", str(tmp_path / "site"),
                         "--no-search", "--base-url", "https://example.org/papers")
    assert result.returncode == 0, result.stderr
    entry = feed(tmp_path / "site").find(f"{ATOM}entry")
    assert entry.findtext(f"{ATOM}title").startswith('A <b>bold</b> & "quoted" title ]]>')
    assert "<script>" in entry.findtext(f"{ATOM}summary")
    assert sitemap_locs(tmp_path / "site")[0] == "https://example.org/papers/"


@pytest.mark.slow
def test_feeds_are_reproducible(tmp_path, seed_source) -> None:
    outputs = []
    for name in ("one", "two"):
        out = tmp_path / name
        assert run_sitegen("build", "--source", str(seed_source), "--out", str(out), "--no-search",
                           "--base-url", BASE_URL).returncode == 0
        outputs.append([(out / f).read_bytes() for f in ("feed.xml", "sitemap.xml", "robots.txt")])
    assert outputs[0] == outputs[1]


def test_each_topic_page_has_a_feed_of_its_papers(built_site) -> None:
    site = built_site(BASE_URL)
    topic_pages = sorted((site / "topics").glob("*/index.html")) if (site / "topics").is_dir() else []
    if not topic_pages:
        pytest.skip("the build makes no topic pages yet")
    papers = json.loads((site / "papers.json").read_text())["papers"]
    for page in topic_pages:
        slug = page.parent.name
        root = feed(site, f"topics/{slug}/feed.xml")
        assert root.find(f"{ATOM}link[@rel='alternate']").get("href") == f"{BASE_URL}topics/{slug}/"
        entries = root.findall(f"{ATOM}entry")
        assert entries, slug
        for entry in entries:
            assert slug in [c.get("term") for c in entry.findall(f"{ATOM}category")]
    assert len({p.parent.name for p in topic_pages}) <= len({t for p in papers for t in p["topics"]})
