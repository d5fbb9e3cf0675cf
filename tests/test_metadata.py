"""content/metadata.toml: read, written, matched to papers, shown to readers; and a build that
never touches the network."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import YEAR_2025, make_site, run_sitegen
from sitegen.diagnostics import BuildError
from sitegen.metadata import (Candidate, PaperMetadata, format_metadata, match_key, merge_records, read_metadata,
                              record_from_table, updated, write_metadata)

ROOT = Path(__file__).resolve().parent.parent
CHROME = "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n" \
         "byAK and the research community\n\nNov 4\n\n"
LISTING = CHROME + """\
Puzzle: Distillation-Based NAS for Inference-Optimized LLMs

Large language models offer remarkable capabilities. Their inference costs are high.

  • 9 authors
·
Dec 2, 2024 12

Schrödinger Bridges for Image Restoration

Bridges between degraded and clean images. See https://arxiv.org/abs/2503.04321v2 for more.

  • 1 author
·
Mar 7, 2025

A Paper Nobody Resolved & <Friends>

An abstract. It has two sentences.

  • 3 authors
·
Mar 8, 2025
"""
METADATA = """\
[[paper]]
title = "Puzzle: Distillation-Based NAS for Inference-Optimized LLMs"
arxiv = "2411.19146"
version = 2
authors = ["Akhiad Bercovich", "Tomer Ronen", "Talor <b>Abramovich</b>", "Nir Ailon", "Nave Assaf", "Ido Galil"]
published = 2024-11-28
category = "cs.LG"
source = "arXiv API"
checked = 2026-01-02

[[paper]]
title = "A title no listing has"
status = "not-found"
"""


def small_site(root: Path, metadata: str | None = METADATA, listing: str = LISTING) -> Path:
    return make_site(root, {"a.txt": listing}, config=YEAR_2025,
                     files={"content/metadata.toml": metadata} if metadata is not None else {})


def page(out: Path, slug: str) -> str:
    """The paper page whose slug is `slug`, or `slug` and the hash a title that is not plain
    ASCII gets (`papers.unique_slugs`)."""
    found = [path for path in (out / "papers").glob(f"{slug}*/index.html")
             if path.parent.name == slug or path.parent.name.removeprefix(slug + "-").isalnum()]
    assert len(found) == 1, found
    return found[0].read_text(encoding="utf-8")


@pytest.mark.parametrize("listing, arxiv", [
    ("π-Flow: Policy-Based Few-Step Generation", r"$\pi$-Flow: Policy-Based Few-Step Generation"),
    ("Schrödinger Bridges", r'Schr\"odinger Bridges'),
    ("Schrödinger Bridges", r'Schr\"{o}dinger Bridges'),
    ("Quantized KV Caches", "Quantized {KV} Caches"),
    ("Sparse Attention Is All You Need", r"\emph{Sparse} Attention is all you  need"),
    ("M^3VIR: A Benchmark", "M$^3$VIR: A Benchmark"),
    ("ΔNet for Images", r"$\Delta$Net for Images"),
])
def test_titles_match_across_latex_accents_and_case(listing, arxiv):
    assert match_key(listing) == match_key(arxiv)


def test_near_titles_do_not_match():
    assert match_key("Attention on Mobile GPUs") != match_key("Attention on Mobile GPU")


def test_the_build_shows_what_the_file_knows(tmp_path):
    site = small_site(tmp_path / "site")
    out = tmp_path / "out"
    result = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search")
    assert result.returncode == 0, result.stderr
    assert "warning: content/metadata.toml:11: no paper in the listings has the title " \
           "'A title no listing has'; correct the title" in result.stderr
    html = page(out, "puzzle-distillation-based-nas-for-inference-optimized-llms")
    actions = html[html.index('<div class="actions"'):]
    assert actions.index(">arXiv</a>") < actions.index(">PDF</a>") < actions.index(">Hugging Face</a>")
    assert 'href="https://arxiv.org/abs/2411.19146"' in html and 'href="https://arxiv.org/pdf/2411.19146"' in html
    assert 'href="https://huggingface.co/papers/2411.19146"' in html
    # Names escaped; the first three, then "et al." opening on the rest without a script.
    assert "Akhiad Bercovich, Tomer Ronen, Talor &lt;b&gt;Abramovich&lt;/b&gt; <details" in html
    assert "<summary data-pagefind-ignore>et al. <span class=\"muted\">(3 more)</span></summary>Nir Ailon, Nave Assaf, Ido Galil" in html
    assert html.count('<meta name="citation_author"') == 6
    assert '<meta name="citation_author" content="Talor &lt;b&gt;Abramovich&lt;/b&gt;">' in html
    assert '<meta name="citation_arxiv_id" content="2411.19146">' in html
    assert '<meta name="citation_pdf_url" content="https://arxiv.org/pdf/2411.19146">' in html
    assert '<meta name="citation_publication_date" content="2024/11/28">' in html  # arXiv's, for citing
    assert 'data-pagefind-meta="authors:Akhiad Bercovich, Tomer Ronen, Talor &lt;b&gt;' in html
    bibtex = html[html.index('<pre id="bibtex">'):html.index("</pre>")]
    assert "author = {Akhiad Bercovich and Tomer Ronen and" in bibtex
    assert "eprint = {2411.19146}" in bibtex and "archivePrefix = {arXiv}" in bibtex
    assert "primaryClass = {cs.LG}" in bibtex and "url = {https://arxiv.org/abs/2411.19146}" in bibtex
    assert "note = " not in bibtex
    ld = json.loads(html.split('<script type="application/ld+json">')[1].split("</script>")[0])
    assert ld["author"][2] == {"@type": "Person", "name": "Talor <b>Abramovich</b>"}
    assert ld["identifier"]["value"] == "2411.19146" and ld["sameAs"] == ["https://arxiv.org/abs/2411.19146"]

    data = json.loads((out / "papers.json").read_text())
    puzzle = next(p for p in data["papers"] if p["title"].startswith("Puzzle"))
    assert puzzle["authors"][:2] == ["Akhiad Bercovich", "Tomer Ronen"]
    assert puzzle["arxiv"] == {"id": "2411.19146", "version": 2, "category": "cs.LG", "published": "2024-11-28",
                               "abs": "https://arxiv.org/abs/2411.19146", "pdf": "https://arxiv.org/pdf/2411.19146",
                               "huggingface": "https://huggingface.co/papers/2411.19146"}
    assert "<name>Akhiad Bercovich</name>" in (out / "feed.xml").read_text()


def test_an_id_in_the_listing_is_used_without_look_up(tmp_path):
    out = tmp_path / "out"
    result = run_sitegen("build", "--source", str(small_site(tmp_path / "site")), "--out", str(out), "--no-search")
    assert result.returncode == 0, result.stderr
    html = page(out, "schrodinger-bridges-for-image-restoration")
    assert 'href="https://arxiv.org/abs/2503.04321"' in html and ">Hugging Face</a>" in html
    assert ">Paper</a>" not in html  # the listing's own link is not a second button
    assert '<meta name="citation_arxiv_id" content="2503.04321">' in html


def test_where_nothing_is_known_the_page_searches_by_title(tmp_path):
    out = tmp_path / "out"
    result = run_sitegen("build", "--source", str(small_site(tmp_path / "site")), "--out", str(out), "--no-search")
    assert result.returncode == 0, result.stderr
    html = page(out, "a-paper-nobody-resolved-friends")
    assert ('href="https://arxiv.org/search/?query=A+Paper+Nobody+Resolved+%26+%3CFriends%3E&amp;'
            'searchtype=title"') in html
    assert 'href="https://scholar.google.com/scholar?q=%22A+Paper+Nobody+Resolved+%26+%3CFriends%3E%22"' in html
    assert "citation_arxiv_id" not in html and "Find on arXiv" in html
    bibtex = html[html.index('<pre id="bibtex">'):html.index("</pre>")]
    assert "url =" not in bibtex and "note = {3 authors}" in bibtex  # no base URL: no relative url


def test_an_undated_paper_takes_the_arxiv_date_marked_as_such(tmp_path):
    listing = CHROME + "Puzzle: Distillation-Based NAS for Inference-Optimized LLMs\n\nOther Paper\n\n" \
        "An abstract. Two sentences.\n\n  • 2 authors\n·\nMar 8, 2025\n"
    out = tmp_path / "out"
    site = small_site(tmp_path / "site", listing=listing)
    result = run_sitegen("build", "--source", str(site), "--out", str(out), "--no-search", "--base-url",
                     "https://example.org/s/")
    assert result.returncode == 0, result.stderr
    html = page(out, "puzzle-distillation-based-nas-for-inference-optimized-llms")
    assert '<time datetime="2024-11-28">28 Nov 2024</time> <span class="note"' in html
    assert "(published on arXiv)</span>" in html
    data = json.loads((out / "papers.json").read_text())
    puzzle = next(p for p in data["papers"] if p["title"].startswith("Puzzle"))
    assert puzzle["published"] == "2024-11-28" and puzzle["published_on_arxiv"] is True
    other = page(out, "other-paper")
    bibtex = other[other.index('<pre id="bibtex">'):other.index("</pre>")]
    assert "url = {https://example.org/s/papers/other-paper/}" in bibtex  # absolute: kept


@pytest.mark.parametrize("text, where", [
    ('[[paper]]\ntitle = "X"\narxiv = 2411.19146\n', "content/metadata.toml:3: arxiv of 'X': 2411.19146 is not"),
    ('[[paper]]\ntitle = "X"\narxiv = "2411.19146\n', "content/metadata.toml:3: not valid TOML"),
    ('[[paper]]\ntitle = "X"\n\n[[paper]]\ntitle = "Y"\narxiv = "2411.19146v2"\n',
     "content/metadata.toml:6: arxiv of 'Y': '2411.19146v2' is not valid; write it as an id without version"),
    ('[[paper]]\ntitle = "X"\npublished = "2024-11-28"\n',
     "content/metadata.toml:3: published of 'X': '2024-11-28' is not a date; write it without quotes"),
    ('[[paper]]\ntitle = "X"\nauthors = "Ada"\n', "content/metadata.toml:3: authors of 'X': must be a list"),
    ('[[paper]]\ntitle = "X"\nauthor = ["Ada"]\n', "content/metadata.toml:3: author of 'X': unknown key"),
    ('[[paper]]\ntitle = "X"\narxiv = "2411.19146"\nstatus = "not-found"\n',
     "content/metadata.toml:4: status of 'X': an entry with an arxiv id is resolved"),
    ('[[paper]]\narxiv = "2411.19146"\n', "content/metadata.toml:1: an entry without a title"),
    ('[[paper]]\ntitle = "X"\n\n[[paper]]\ntitle = "x."\n',
     "content/metadata.toml:4: a second entry for the title 'x.' (the first is at line 1)"),
    ('[papers]\n', "content/metadata.toml:1: unknown key 'papers'"),
])
def test_problems_name_the_line_and_the_fix(tmp_path, text, where):
    path = tmp_path / "metadata.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(BuildError) as caught:
        read_metadata(path)
    assert str(caught.value).startswith(where)


def test_a_broken_file_stops_the_build_without_a_traceback(tmp_path):
    site = small_site(tmp_path / "site", metadata='[[paper]]\ntitle = "X"\nversion = "2"\n')
    result = run_sitegen("build", "--source", str(site), "--out", str(tmp_path / "out"), "--no-search")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().endswith(
        "error: content/metadata.toml:3: version of 'X': '2' is not a version number; write e.g. version = 2")


def test_the_writer_sorts_and_reads_back(tmp_path):
    records = [PaperMetadata(title="Zeta", arxiv="2401.00001", authors=("B", "A"), published=date(2024, 1, 2),
                             checked=date(2026, 1, 2), source="x"),
               PaperMetadata(title="alpha", status="ambiguous", candidates=(Candidate("2401.00002", 'A "q"'),)),
               PaperMetadata(title="Mid", pinned=True, authors=tuple(f"Author Number {i}" for i in range(12)))]
    path = tmp_path / "content" / "metadata.toml"
    write_metadata(path, records)
    text = path.read_text(encoding="utf-8")
    assert [t["title"] for t in tomllib.loads(text)["paper"]] == ["alpha", "Mid", "Zeta"]
    assert 'candidates = [\n  {arxiv = "2401.00002", title = "A \\"q\\""},\n]' in text
    assert 'authors = [\n  "Author Number 0",\n' in text and 'authors = ["B", "A"]' in text
    assert "published = 2024-01-02\n" in text
    assert sorted(read_metadata(path).values(), key=lambda r: r.title) == sorted(records, key=lambda r: r.title)
    assert format_metadata(reversed(records)) == text
    with pytest.raises(ValueError, match="two records for the same title"):
        format_metadata([*records, PaperMetadata(title="ZETA.")])


def test_records_as_json_lines_become_entries_and_pins_stay():
    record = record_from_table({"title": "Puzzle", "arxiv": "2411.19146", "version": 2, "authors": ["A"],
                                "published": "2024-11-28", "category": "cs.LG", "source": "repo/README.md"},
                               "seeds.jsonl", 7, dates_as_text=True)
    assert record.published == date(2024, 11, 28) and record.authors == ("A",)
    pinned = PaperMetadata(title="Puzzle", arxiv="2411.00000", pinned=True)
    assert updated({match_key("Puzzle"): pinned}, [record]) == {match_key("Puzzle"): pinned}
    with pytest.raises(BuildError, match="seeds.jsonl:7: arxiv of 'Puzzle'"):
        record_from_table({"title": "Puzzle", "arxiv": "arXiv:2411.19146"}, "seeds.jsonl", 7)


def test_merge_records_adds_json_records_to_the_file(tmp_path):
    path = tmp_path / "metadata.toml"
    path.write_text('[[paper]]\ntitle = "Kept"\narxiv = "2401.00001"\npinned = true\n', encoding="utf-8")
    lines = ['{"title": "Kept", "arxiv": "2401.99999", "source": "x"}',
             '{"title": "New", "arxiv": "2411.19146", "version": 2, "authors": ["A", "B"], "published": "2024-11-28",'
             ' "category": "cs.LG", "source": "github:owner/repo/README.md"}']
    merge_records(path, [json.loads(line) for line in lines], "seeds.jsonl")
    found = {entry.title: entry for entry in read_metadata(path).values()}
    assert found["Kept"].arxiv == "2401.00001" and found["New"].published == date(2024, 11, 28)
    with pytest.raises(BuildError, match="seeds.jsonl:1: published of 'X'"):
        merge_records(path, [{"title": "X", "published": "28 Nov 2024"}], "seeds.jsonl")


_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=40)


@settings(max_examples=200, deadline=None)
@given(title=_text.filter(lambda t: match_key(t)), authors=st.lists(_text.filter(str.strip), max_size=8),
       source=_text.filter(str.strip))
def test_any_text_survives_the_round_trip(title, authors, source):
    record = PaperMetadata(title=title, arxiv="2411.19146", authors=tuple(a.strip() for a in authors), source=source)
    table = tomllib.loads(format_metadata([record]))["paper"][0]
    assert record_from_table(table, "x") == record


NO_NETWORK = """\
import socket, sys
def refuse(*args, **kwargs):
    raise OSError("sitegen's build tried to use the network")
socket.socket.connect = socket.socket.connect_ex = refuse
socket.getaddrinfo = socket.create_connection = refuse
from sitegen.cli import main
sys.exit(main(sys.argv[1:]))
"""


def digest(directory: Path) -> dict[str, str]:
    return {p.relative_to(directory).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.rglob("*")) if p.is_file() and "pagefind" not in p.parts}


@pytest.mark.slow
def test_a_build_makes_no_network_connection_and_the_same_bytes(tmp_path):
    site = small_site(tmp_path / "site")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    offline = subprocess.run([sys.executable, "-c", NO_NETWORK, "build", "--source", str(site), "--out",
                              str(tmp_path / "offline"), "-q"], capture_output=True, text=True, timeout=300, env=env)
    assert offline.returncode == 0, offline.stderr
    assert "network" not in offline.stderr and "Traceback" not in offline.stderr
    normal = run_sitegen("build", "--source", str(site), "--out", str(tmp_path / "normal"), "-q")
    assert normal.returncode == 0, normal.stderr
    assert (tmp_path / "offline" / "pagefind").is_dir()  # the search index was built offline too
    assert digest(tmp_path / "offline") == digest(tmp_path / "normal")
    probe = subprocess.run([sys.executable, "-c", NO_NETWORK.split("from sitegen")[0]
                            + "socket.create_connection(('127.0.0.1', 9))"], capture_output=True, text=True)
    assert "tried to use the network" in probe.stderr  # the guard itself works
