"""Hostile and broken listings through the real CLI: tests/hostile/cases.toml says what each must do.

Recoverable damage builds with a `file:line` warning and keeps every paper; a file that is not
a readable listing stops the build with `path:LINE: message`, exit 1 and nothing written;
never a traceback; never listing text turned into markup in any output file.
"""

from __future__ import annotations

import html
import json
import os
import re
import time
import tomllib
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from hostile.harness import LISTINGS, REPO, build, make_site, markup_problems, pagefind_records, parse_page
from sitegen.feeds import FEED_SUMMARY_MAX
from sitegen.listings import read_listings
from sitegen.papers import EVIDENCE_CONTEXT, EVIDENCE_SENTENCE_MAX, merge

HOSTILE = Path(__file__).parent / "hostile"
CASES = tomllib.loads((HOSTILE / "cases.toml").read_text("utf-8"))["case"]

ABSTRACT = ("We study a problem that matters for efficient inference. Our method improves throughput "
            "by a wide margin on standard benchmarks, and we release code and models.")
META = "  • 3 authors\n·\nMay 3, 2024 5"


def _rich(*entries: tuple[str, str]) -> str:
    return "Daily Papers\n\nNov 4\n\n" + "".join(f"{title}\n\n{abstract}\n\n{META}\n\n" for title, abstract in entries)


# Inputs too big to commit, or that are not plain files: each writes into the site root.

def five_mb_line(root: Path) -> None:
    chunk = ("Lorem ipsum dolor sit amet, {{ 7*7 }} <script>alert(1)</script> & consectetur "
             "adipiscing elit. ") * 1000
    line = (chunk + "See https://example.org/a_(b). ") * 60  # ~5.3 MB
    assert len(line.encode()) > 5_000_000
    (root / LISTINGS / "big.txt").write_text(
        _rich(("Five Megabyte Abstract", line), ("The Paper After It", ABSTRACT)), "utf-8")


def huge_title(root: Path) -> None:
    (root / LISTINGS / "title.txt").write_text(_rich(("Huge " * 200_000, ABSTRACT)), "utf-8")


def bracket_flood(root: Path) -> None:
    abstract = "See https://example.org/a_(b)" + ")" * 1_000_000 + "." * 1_000_000 + " " + ABSTRACT
    (root / LISTINGS / "flood.txt").write_text(_rich(("Bracket Flood", abstract)), "utf-8")


def markup_file_name(root: Path) -> None:
    (root / LISTINGS / "<img src=x onerror=alert(7)>.txt").write_text(_rich(("Odd File Name", ABSTRACT)))


def symlink_outside(root: Path) -> None:
    (root / "outside.txt").write_text(_rich(("Secret Paper", ABSTRACT)))
    (root / LISTINGS / "link.txt").symlink_to(root / "outside.txt")


def symlinked_folder_outside(root: Path) -> None:
    (root / "elsewhere").mkdir()
    (root / "elsewhere" / "x.txt").write_text(_rich(("Paper Elsewhere", ABSTRACT)))
    (root / LISTINGS / "a.txt").write_text(_rich(("Paper Here", ABSTRACT)))
    (root / LISTINGS / "elsewhere").symlink_to(root / "elsewhere", target_is_directory=True)


def fifo(root: Path) -> None:
    (root / LISTINGS / "a.txt").write_text(_rich(("Paper Before The Pipe", ABSTRACT)))
    os.mkfifo(root / LISTINGS / "pipe.txt")


GENERATORS = {f.__name__: f for f in (five_mb_line, huge_title, bracket_flood, markup_file_name,
                                       symlink_outside, symlinked_folder_outside, fifo)}


def _setup(case: dict, root: Path) -> None:
    make_site(root, {name: (HOSTILE / name).read_bytes() for name in case.get("files", [])})
    if "generate" in case:
        GENERATORS[case["generate"]](root)


def _warning_places(stderr: str) -> list[str]:
    """`file:line` of each `warning: file:line: message` line."""
    places = []
    for line in stderr.splitlines():
        if line.startswith("warning: "):
            file, number, _ = line.removeprefix("warning: ").split(":", 2)
            places.append(f"{file}:{number}")
    return places


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_hostile_listing(case, tmp_path):
    root, out = tmp_path / "site", tmp_path / "out"
    _setup(case, root)
    result = build(root, out, "-q")

    if case["outcome"] == "error":
        assert result.returncode == 1, result.stderr
        assert f"error: {LISTINGS}/{case['error']}" in result.stderr
        assert not out.exists(), "a failed build wrote output"
        return

    assert result.returncode == 0, result.stderr
    assert sorted(_warning_places(result.stderr)) == sorted(f"{LISTINGS}/{w}" for w in case.get("warnings", []))
    for name in case.get("warning_names", []):  # a conflict names the other place too
        assert name in result.stderr
    papers = json.loads((out / "papers.json").read_bytes())["papers"]
    assert len(papers) == case["papers"]
    pages = sorted(out.glob("papers/*/index.html"))
    assert len(pages) == case["papers"], "every paper keeps its page"
    if "titles" in case:
        assert sorted(p["title"] for p in papers) == sorted(case["titles"])
    if "slugs" in case:
        assert sorted(p["slug"] for p in papers) == sorted(case["slugs"])
    abstracts = "\n".join(p["abstract"] or "" for p in papers)
    for text in case.get("abstract_has", []):
        assert text in abstracts
    for paper, page in zip(sorted(papers, key=lambda p: p["slug"]), pages):
        html = page.read_bytes()
        assert page.parent.name == paper["slug"]
        assert parse_page(html).h1 == paper["title"], "the title is shown as text, exactly"
    if "anchors" in case:
        anchors = {link["url"] for p in papers for link in p["links"]}
        assert anchors == set(case["anchors"])

    assert markup_problems(out) == []
    for text in case.get("absent", []):
        for path in out.rglob("*"):
            if path.is_file() and "pagefind" not in path.parts:
                assert text.encode() not in path.read_bytes(), f"{text!r} in {path}"
    titles = {" ".join(p["title"].split()) for p in papers}
    for record in pagefind_records(out):  # Pagefind read the titles as text, not as elements
        assert " ".join(record["meta"]["title"].split()) in titles


def test_many_cases_in_one_site_with_all_papers(tmp_path):
    """Every readable hostile listing at once: one build, every paper of every file kept."""
    ok = [c for c in CASES if c["outcome"] == "ok" and "files" in c and c["papers"]]
    names = sorted({name for case in ok for name in case["files"]})
    root = make_site(tmp_path / "site", {name: (HOSTILE / name).read_bytes() for name in names})
    result = build(root, tmp_path / "out", "-q", "--no-search")
    assert result.returncode == 0, result.stderr
    listings = read_listings(root / LISTINGS, root, {})
    papers, _ = merge(listings)
    assert len(list((tmp_path / "out").glob("papers/*/index.html"))) == len(papers)
    assert {s.file for p in papers for s in p.sources} == {f"{LISTINGS}/{n}" for n in names}
    assert markup_problems(tmp_path / "out") == []


@pytest.mark.slow
def test_hundred_thousand_entries(tmp_path):
    """100,000 entries parse and merge in seconds, every one kept; the titles share one ASCII
    slug (`llm`), which made slug allocation quadratic before."""
    n = 100_000
    lines = ["Get trending papers in your email inbox!"]
    for i in range(n):
        cjk = chr(0x4E00 + i % 20000) + chr(0x4E00 + i // 20000)
        lines += [f"LLM {cjk}", f"Abstract number {i}. {ABSTRACT}"]
    root = make_site(tmp_path / "site", {"many.txt": "\n".join(lines) + "\n"})
    started = time.perf_counter()
    listings = read_listings(root / LISTINGS, root, {})
    papers, warnings = merge(listings)
    elapsed = time.perf_counter() - started
    assert len(listings[0].entries) == n
    assert len(papers) == n and warnings == []
    assert len({p.slug for p in papers}) == n
    assert listings[0].entries[-1].source.line == 2 * n
    assert elapsed < 60, f"parse and merge of {n} entries took {elapsed:.0f} s"


def _huge_abstract(filler: int) -> str:
    """One sentence: the seed abstracts (every topic, much hardware), then `filler` characters
    of words that name nothing, with `MARKERWORD` in their middle."""
    seeds = " ".join(e.abstract for listing in read_listings(REPO / LISTINGS, REPO, {})
                     for e in listing.entries if e.abstract).replace(". ", ", ")
    words = " lorem ipsum" * (filler // 24)
    return seeds + words + " MARKERWORD" + words


def _output_bytes(out: Path) -> int:
    return sum(p.stat().st_size for p in out.rglob("*") if p.is_file())


@pytest.mark.slow
def test_a_huge_abstract_is_copied_whole_only_to_its_page_and_papers_json(tmp_path):
    """A paper is in ~30 topic feeds and on many hardware pages: those get a bounded summary
    and bounded evidence, so the output grows by a few copies of the abstract, not by 30-70."""
    sizes = {}
    for size in (200_000, 800_000):  # characters of filler
        root, out = tmp_path / f"site{size}", tmp_path / f"out{size}"
        make_site(root, {"big.txt": _rich(("Huge Abstract", _huge_abstract(size)), ("Small Paper", ABSTRACT))})
        (root / "content" / "rules.toml").write_bytes((REPO / "content" / "rules.toml").read_bytes())
        result = build(root, out, "-q", "--no-search")
        assert result.returncode == 0, result.stderr
        sizes[size] = _output_bytes(out)
    holders = sorted(p.relative_to(out).as_posix() for p in out.rglob("*")
                     if p.is_file() and b"MARKERWORD" in p.read_bytes())
    assert holders == ["papers.json", "papers/huge-abstract/index.html"]
    feeds = sorted(out.rglob("feed.xml"))
    assert len(feeds) > 20, "the abstract names most topics"
    for path in feeds:
        for summary in ET.parse(path).getroot().iter("{http://www.w3.org/2005/Atom}summary"):
            assert len(summary.text) <= FEED_SUMMARY_MAX
            if summary.text.startswith(_huge_abstract(0)[:100]):
                assert summary.text.endswith("…")
                assert _huge_abstract(800_000).startswith(summary.text[:-1].rstrip() + " ")
    # Growing the abstract grows the output by four copies at most (the page has a second
    # one in its citation metadata), not by one for each feed and term page.
    assert sizes[800_000] - sizes[200_000] < 4 * 600_000
    assert max(len(m["sentence"]) for m in _mentions(out)) <= max(EVIDENCE_SENTENCE_MAX, 2 * EVIDENCE_CONTEXT + 100)


def _mentions(out: Path) -> list[dict]:
    """The hardware evidence on the huge paper's page, as `<q>` texts."""
    page = (out / "papers/huge-abstract/index.html").read_text("utf-8")
    return [{"sentence": html.unescape(re.sub(r"<[^>]+>", "", q))} for q in re.findall(r"<q>(.*?)</q>", page, re.S)]


@pytest.mark.slow
def test_strict_makes_a_warning_an_error_and_writes_nothing(tmp_path):
    root = make_site(tmp_path / "site", {"title_at_end.txt": (HOSTILE / "title_at_end.txt").read_bytes(),
                                         "empty.txt": b""})
    out = tmp_path / "out"
    result = build(root, out, "--strict")
    assert result.returncode == 1
    assert f"error: {LISTINGS}/empty.txt:1: no papers in this listing" in result.stderr
    assert f"{LISTINGS}/title_at_end.txt:13: title 'Lonely Title At The End'" in result.stderr
    assert "--strict: 2 warning(s) are errors" in result.stderr
    assert not out.exists()
    # Without --strict the same site builds, with both warnings.
    result = build(root, out)
    assert result.returncode == 0
    assert sorted(_warning_places(result.stderr)) == [f"{LISTINGS}/empty.txt:1", f"{LISTINGS}/title_at_end.txt:13"]


@pytest.mark.slow
def test_strict_leaves_previous_output_untouched(tmp_path):
    root = make_site(tmp_path / "site", {"a.txt": (HOSTILE / "bom.txt").read_bytes()})
    out = tmp_path / "out"
    assert build(root, out, "-q", "--no-search").returncode == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    (root / LISTINGS / "b.txt").write_bytes((HOSTILE / "title_only.txt").read_bytes())
    result = build(root, out, "--strict", "--no-search")
    assert result.returncode == 1 and f"{LISTINGS}/b.txt:1:" in result.stderr
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
