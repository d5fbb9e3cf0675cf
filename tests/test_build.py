"""Real builds of real sites into temporary directories, through the command line."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from conftest import copy_seed_source, make_site, run_sitegen

ROOT = Path(__file__).resolve().parent.parent


def tree_digest(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file()}


def small_site(dest: Path, listing: str, name: str = "a.txt") -> Path:
    return make_site(dest, {name: listing})


@pytest.fixture(scope="module")
def seed_build(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    site = copy_seed_source(tmp_path_factory.mktemp("seed"))
    out = site / "site"
    result = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search")
    assert result.returncode == 0, result.stderr
    return out, result


@pytest.mark.slow
def test_seed_site_pages(seed_build) -> None:
    out, result = seed_build
    assert len(list((out / "papers").glob("*/index.html"))) == 175
    assert (out / "index.html").is_file() and (out / "about" / "index.html").is_file()
    assert len(list((out / "listings").glob("*/index.html"))) == 2
    assert "Built 175 papers" in result.stdout
    assert "inferred" in result.stdout  # the listing year was inferred, and the build says so
    assert "Traceback" not in result.stderr


def test_papers_json_metadata(seed_build) -> None:
    out, _ = seed_build
    papers = {p["title"].split(":")[0]: p for p in json.loads((out / "papers.json").read_text())["papers"]}
    assert len(papers) == 175
    rlp = papers["RLP"]
    assert (rlp["organization"]["name"], rlp["published"], rlp["upvotes"]) == ("NVIDIA", "2025-09-26", 4)
    puzzle = papers["Puzzle"]
    assert (puzzle["authors_count"], puzzle["published"]) == (24, "2024-11-28")
    assert rlp["url"] == f"/papers/{rlp['slug']}/"
    required = {"slug", "title", "url", "abstract", "published", "upvotes", "authors_count",
                "organization", "links", "topics", "hardware", "sources"}
    assert all(required <= set(p) for p in papers.values())
    merged = [p for p in papers.values() if len(p["sources"]) == 2]
    assert len(merged) == 15
    assert {s["file"] for s in merged[0]["sources"]} == {
        "content/listings/000_e0f5f16c55c27fa1.txt", "content/listings/004_81cc37237c401a09.txt"}


def test_paper_page_content(seed_build) -> None:
    out, _ = seed_build
    papers = json.loads((out / "papers.json").read_text())["papers"]
    gqr = next(p for p in papers if p["title"].startswith("Guarded Query Routing"))
    html = (out / "papers" / gqr["slug"] / "index.html").read_text()
    # the trailing full stop is not part of the link, and stays visible as text
    assert '<a href="https://github.com/williambrach/gqr" rel="nofollow noopener">https://github.com/williambrach/gqr</a>.' in html
    assert gqr["links"] == [{"url": "https://github.com/williambrach/gqr", "kind": "code"}]
    assert "5 authors" in html and "20 May 2025" in html


@pytest.mark.slow
def test_rebuild_writes_nothing_and_removes_stale_files(tmp_path) -> None:
    site = copy_seed_source(tmp_path / "src")
    out = tmp_path / "out"
    assert run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search").returncode == 0
    again = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search")
    assert "(0 written" in again.stdout
    (site / "content" / "listings" / "004_81cc37237c401a09.txt").unlink()
    third = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search")
    assert third.returncode == 0, third.stderr
    assert len(list((out / "papers").glob("*/index.html"))) == 71
    empty_dirs = [d for d in out.rglob("*") if d.is_dir() and not any(d.iterdir())]
    assert empty_dirs == []


@pytest.mark.slow
def test_same_input_same_bytes(tmp_path) -> None:
    site = copy_seed_source(tmp_path / "src")
    for name in ("a", "b"):
        assert run_sitegen("build", "--source", str(site), "--out", str(tmp_path / name), "--no-search").returncode == 0
    assert tree_digest(tmp_path / "a") == tree_digest(tmp_path / "b")


@pytest.mark.slow
def test_unreadable_listing_stops_build_and_keeps_output(tmp_path) -> None:
    site = copy_seed_source(tmp_path / "src")
    out = tmp_path / "out"
    assert run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search").returncode == 0
    before = tree_digest(out)
    (site / "content" / "listings" / "broken.txt").write_bytes(b"Nov 4\n\nTitle\n\xff\xfe\n")
    result = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search")
    assert result.returncode == 1
    assert "content/listings/broken.txt:4: not valid UTF-8" in result.stderr
    assert "Traceback" not in result.stderr
    assert tree_digest(out) == before


@pytest.mark.slow
def test_refuses_foreign_directory(tmp_path) -> None:
    site = copy_seed_source(tmp_path / "src")
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    result = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search")
    assert result.returncode == 1 and "not written by sitegen" in result.stderr and "--force" in result.stderr
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    assert run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search", "--force").returncode == 0
    assert (out / "thesis.tex").read_text() == "precious"


def test_hostile_text_is_escaped(tmp_path) -> None:
    listing = ("Nov 4\n\n<script>alert(1)</script> {{ 7*7 }} Title\n\n"
               "An abstract with javascript:alert(2) and <img src=x onerror=alert(3)>. Also {% if x %}.\n\n"
               "  • 2 authors\n·\nMay 30, 2024 3\n")
    site = small_site(tmp_path / "src", listing)
    out = tmp_path / "out"
    result = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search")
    assert result.returncode == 0, result.stderr
    (page,) = (out / "papers").glob("*/index.html")
    html = page.read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }} Title" in html
    assert "<script>alert" not in html and "<img src=x" not in html and "49" not in html
    assert 'href="javascript' not in html


def test_emoji_titles_and_empty_listing(tmp_path) -> None:
    listing = ("Nov 4\n\n🚀🚀\n\nAn abstract that reads like prose. It is short.\n\n  • 1 authors\n·\nMay 1, 2024\n\n"
               "🔥\n\nAnother abstract that reads like prose. It is short.\n\n  • 1 authors\n·\nMay 2, 2024\n")
    site = small_site(tmp_path / "src", listing)
    (site / "content" / "listings" / "empty.txt").write_text("")
    out = tmp_path / "out"
    result = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search")
    assert result.returncode == 0, result.stderr
    slugs = sorted(p.parent.name for p in (out / "papers").glob("*/index.html"))
    assert len(slugs) == 2 and all(s.startswith("paper-") for s in slugs)
    assert "content/listings/empty.txt:1: no papers in this listing" in result.stderr


@pytest.mark.slow
def test_pages_notes_and_theme_override(tmp_path) -> None:
    site = copy_seed_source(tmp_path / "src")
    (site / "content" / "pages" / "guide.md").write_text("# Reading guide\n\n```python\nprint('hi')\n```\n")
    out = tmp_path / "out"
    assert run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search").returncode == 0
    papers_json = json.loads((out / "papers.json").read_text())["papers"]
    slug = papers_json[0]["slug"]
    (site / "content" / "notes").mkdir(exist_ok=True)
    (site / "content" / "notes" / f"{slug}.md").write_text("Worth *reading* first.\n")
    (site / "templates").mkdir()
    (site / "templates" / "404.html").write_text('{% extends "base.html" %}{% block main %}Custom 404{% endblock %}')
    result = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search")
    assert result.returncode == 0, result.stderr
    guide = (out / "guide" / "index.html").read_text()
    assert "<h1>Reading guide</h1>" in guide and '<span class="nb">print</span>' in guide
    assert "Worth <em>reading</em> first." in (out / "papers" / slug / "index.html").read_text()
    assert "Custom 404" in (out / "404.html").read_text()


@pytest.mark.slow
def test_template_error_names_file_and_line(tmp_path) -> None:
    site = copy_seed_source(tmp_path / "src")
    (site / "templates").mkdir()
    (site / "templates" / "404.html").write_text('{% extends "base.html" %}\n{% block main %}\n{% if %}\n{% endblock %}')
    result = run_sitegen("build", "--source", str(site), "--out", str(tmp_path / "out"), "--no-search")
    assert result.returncode == 1
    assert "templates/404.html:3: template syntax error" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_explains_options() -> None:
    result = run_sitegen("build", "--help")
    for option in ("--source", "--out", "--base-url", "--strict"):
        assert option in result.stdout


@pytest.mark.slow
def test_a_build_collects_garbage_less_often_and_puts_the_collector_back(tmp_path) -> None:
    """The preview server builds in its own long-lived process: the higher threshold lasts as
    long as the build, whether it succeeds or fails."""
    import gc

    from sitegen.build import build
    from sitegen.config import load_config
    from sitegen.diagnostics import BuildError

    site = copy_seed_source(tmp_path / "site")
    before = gc.get_threshold()
    during: list[int] = []
    build(load_config(site), tmp_path / "out", search=False,
          on_stage=lambda name, seconds: during.append(gc.get_threshold()[0]))
    assert during and min(during) > before[0]
    assert gc.get_threshold() == before
    (site / "content" / "listings" / "zz.txt").write_bytes(b"Title\n\xff\n")
    with pytest.raises(BuildError):
        build(load_config(site), tmp_path / "out", search=False)
    assert gc.get_threshold() == before
