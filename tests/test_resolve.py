"""`sitegen resolve` against a fake arXiv API that replays recorded answers (tests/fixtures/arxiv/):
exact matches taken, near matches reported, failures retried politely, interruptions resumed."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
import tomllib
from datetime import date
from pathlib import Path

import pytest

from arxiv_fake import FakeArxiv
from conftest import YEAR_2025, make_site, run_sitegen
from sitegen.config import load_config
from sitegen.diagnostics import BuildError
from sitegen.metadata import read_metadata
from sitegen.resolve import ArxivClient, Unreachable, parse_feed, resolve, summary, title_query

ROOT = Path(__file__).resolve().parent.parent
LISTING = """\
new

Get trending papers in your email inbox!

Subscribe

Daily Papers

byAK and the research community

Nov 4

Puzzle: Distillation-Based NAS for Inference-Optimized LLMs

Large language models offer remarkable capabilities. Their inference costs are high.

  • 9 authors
·
Dec 2, 2024 12

π-Flow: Policy-Based Few-Step Generation via Imitation Distillation

Quantized KV Caches at Scale

We quantize key-value caches. It works.

  • 2 authors
·
Feb 4, 2025 5

Schrödinger Bridges for Image Restoration

A Title Nobody Wrote

Two Papers Share This Title

Efficient Attention for Long Sequences on Mobile GPUs

Attention on phones. With <script>alert(1)</script> in it.

  • 1 author
·
Apr 2, 2025
"""
BATCH1 = ["A Title Nobody Wrote", "Efficient Attention for Long Sequences on Mobile GPUs",
          "Puzzle: Distillation-Based NAS for Inference-Optimized LLMs", "Quantized KV Caches at Scale",
          "Schrödinger Bridges for Image Restoration"]
BATCH2 = ["Two Papers Share This Title", "π-Flow: Policy-Based Few-Step Generation via Imitation Distillation"]
TODAY = date(2026, 1, 2)
FAST = 0.05
"""Seconds between requests in tests; arXiv's own 3 s stays the default."""


def small_site(root: Path) -> Path:
    return make_site(root, {"a.txt": LISTING}, config=YEAR_2025)


def run(root: Path, fake: FakeArxiv, **options) -> tuple[object, list[str]]:
    messages: list[str] = []
    client = ArxivClient(api=fake.url, interval=options.pop("interval", FAST), timeout=options.pop("timeout", 5),
                         on_wait=messages.append)
    outcome = resolve(load_config(root), client, today=TODAY, progress=messages.append, **options)
    return outcome, messages


def entries(root: Path) -> dict:
    return {entry.title: entry for entry in read_metadata(root / "content" / "metadata.toml").values()}


def test_resolves_exact_titles_and_reports_near_ones(tmp_path):
    site = small_site(tmp_path)
    with FakeArxiv(["batch1.xml", "batch2.xml"]) as fake:
        outcome, _ = run(site, fake)
    assert fake.queries == [title_query(BATCH1), title_query(BATCH2)]  # titles batched, sorted
    assert fake.queries[0].count(" OR ") == 4 and 'ti:"puzzle distillation based nas for inference optimized llms"' \
        in fake.queries[0]
    found = entries(site)
    puzzle = found["Puzzle: Distillation-Based NAS for Inference-Optimized LLMs"]
    assert (puzzle.arxiv, puzzle.version, puzzle.published, puzzle.category, puzzle.checked) == \
        ("2411.19146", 2, date(2024, 11, 28), "cs.LG", TODAY)
    assert puzzle.authors[:2] == ("Akhiad Bercovich", "Tomer Ronen") and len(puzzle.authors) == 9
    # Spelled with braces, an accent command, LaTeX math: the same titles.
    assert found["Quantized KV Caches at Scale"].authors == ("Ada Lovelace", "Alan Turing")
    assert found["Schrödinger Bridges for Image Restoration"].arxiv == "2503.04321"
    assert found["π-Flow: Policy-Based Few-Step Generation via Imitation Distillation"].arxiv == "2510.14974"
    near = found["Efficient Attention for Long Sequences on Mobile GPUs"]  # "...Mobile GPU": not taken
    assert near.arxiv is None and near.status == "ambiguous"
    assert [(c.arxiv, c.title) for c in near.candidates] == [
        ("2504.00777", "Efficient Attention for Long Sequences on Mobile GPU")]
    two = found["Two Papers Share This Title"]
    assert two.status == "ambiguous" and {c.arxiv for c in two.candidates} == {"2501.00001", "2501.00002"}
    assert found["A Title Nobody Wrote"].status == "not-found"
    assert (outcome.count(None), outcome.count("ambiguous"), outcome.count("not-found")) == (4, 2, 1)
    report = summary(outcome)
    assert "4 resolved, 2 ambiguous, 1 not found" in report
    assert "  2504.00777   Efficient Attention for Long Sequences on Mobile GPU" in report
    assert "not found: A Title Nobody Wrote" in report


@pytest.mark.slow
def test_a_second_run_looks_up_nothing_and_retry_only_the_unresolved(tmp_path):
    site = small_site(tmp_path)
    with FakeArxiv(["batch1.xml", "batch2.xml"]) as fake:
        run(site, fake)
    before = (site / "content" / "metadata.toml").read_bytes()
    with FakeArxiv([]) as fake:
        outcome, _ = run(site, fake)
    assert fake.requests == [] and outcome.looked_up == []
    with FakeArxiv(["empty.xml"]) as fake:
        run(site, fake, retry=True)
    assert fake.queries == [title_query(["A Title Nobody Wrote", "Efficient Attention for Long Sequences on "
                                         "Mobile GPUs", "Two Papers Share This Title"])]
    after = (site / "content" / "metadata.toml").read_bytes()
    assert after.count(b"\n[[paper]]") == before.count(b"\n[[paper]]") == 7


def test_pinned_and_hand_set_entries_are_left_alone(tmp_path):
    site = small_site(tmp_path)
    (site / "content" / "metadata.toml").write_text(
        '[[paper]]\ntitle = "A Title Nobody Wrote"\nstatus = "not-found"\npinned = true\n\n'
        '[[paper]]\ntitle = "Quantized KV caches at scale"\narxiv = "2502.99999"\nsource = "by hand"\n',
        encoding="utf-8")
    with FakeArxiv(["batch2.xml"]) as fake:
        run(site, fake, retry=True)
    assert fake.queries == [title_query([t for t in BATCH1 + BATCH2 if t not in (
        "A Title Nobody Wrote", "Quantized KV Caches at Scale")])]
    found = entries(site)
    assert found["Quantized KV caches at scale"].arxiv == "2502.99999"
    assert found["A Title Nobody Wrote"].pinned


def test_limit_looks_up_that_many(tmp_path):
    site = small_site(tmp_path)
    with FakeArxiv(["batch1.xml"]) as fake:
        outcome, _ = run(site, fake, limit=2)
    assert fake.queries == [title_query(BATCH1[:2])]
    assert len(entries(site)) == 2 and outcome.left == 5
    assert "5 papers are left to look up." in summary(outcome)


def test_requests_are_paced(tmp_path):
    site = small_site(tmp_path)
    with FakeArxiv(["batch1.xml", "batch2.xml"]) as fake:
        run(site, fake, interval=0.4)
    (first, _), (second, _) = fake.requests
    assert second - first >= 0.39


@pytest.mark.slow
def test_timeouts_and_server_errors_are_retried_with_back_off(tmp_path):
    site = small_site(tmp_path)
    with FakeArxiv([("slow", 1.0, "batch1.xml"), (503, {}), (502, {}), "batch1.xml", "batch2.xml"]) as fake:
        outcome, messages = run(site, fake, interval=0.1, timeout=0.3)
    times = [t for t, _ in fake.requests]
    assert len(times) == 5 and len(set(fake.queries[:4])) == 1
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps[1] >= 0.19 and gaps[2] >= 0.39  # 0.1 x 2, then x 4 (after the timeout's 0.1 + its 0.3)
    assert any("timed out; trying again" in m for m in messages)
    assert any("HTTP 503; trying again in 0.2 s (2/4)" in m for m in messages)
    assert outcome.count(None) == 4 and not outcome.stopped


@pytest.mark.slow
def test_rate_limiting_honours_retry_after(tmp_path):
    site = small_site(tmp_path)
    with FakeArxiv([(429, {"Retry-After": "1"}), "batch1.xml", "batch2.xml"]) as fake:
        outcome, messages = run(site, fake)
    (first, _), (second, _), _ = fake.requests
    assert second - first >= 0.99
    assert any("HTTP 429; trying again in 1 s" in m for m in messages)
    assert outcome.count(None) == 4


@pytest.mark.slow
def test_garbled_answers_are_retried_then_the_run_stops_keeping_what_it_found(tmp_path):
    site = small_site(tmp_path)
    garbled = ("raw", b"<?xml version='1.0'?><feed xmlns='http://www.w3.org/2005/Atom'><entry><id>http://arx")
    with FakeArxiv(["batch1.xml", *[garbled] * 5]) as fake:
        outcome, messages = run(site, fake, interval=0.01)
    assert len(fake.requests) == 6
    assert "does not parse" in outcome.stopped and "gave up after 5 tries" in outcome.stopped
    assert len(entries(site)) == 5  # the first query's results are saved
    assert "run `sitegen resolve` again" in summary(outcome)
    with FakeArxiv([("raw", b"<html>busy</html>"), "batch2.xml"]) as fake:  # the next run goes on
        outcome, _ = run(site, fake, interval=0.01)
    assert fake.queries == [title_query(BATCH2)] * 2 and len(entries(site)) == 7


def test_the_apis_own_error_stops_at_once(tmp_path):
    site = small_site(tmp_path)
    with FakeArxiv(["error.xml"]) as fake:
        outcome, _ = run(site, fake)
    assert len(fake.requests) == 1 and outcome.stopped == "arXiv says: incorrect id format for 1234.12345"
    assert not (site / "content" / "metadata.toml").exists()


def test_no_server_says_so_and_changes_nothing(tmp_path):
    site = small_site(tmp_path)
    with FakeArxiv([]) as fake:
        url = fake.url
    client = ArxivClient(api=url, interval=FAST)  # nothing listens there any more
    with pytest.raises(Unreachable, match="cannot reach 127.0.0.1"):
        resolve(load_config(site), client, today=TODAY, progress=print)
    assert not (site / "content" / "metadata.toml").exists()
    result = run_sitegen("resolve", "--source", str(site), "--api", url, "--interval", "0")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"error: cannot reach {url.split('/')[2]} (Connection refused); no network? content/metadata.toml "
        "was left as it was."]


def test_command_line_end_to_end(tmp_path):
    site = small_site(tmp_path)
    with FakeArxiv(["batch1.xml", "batch2.xml"]) as fake:
        result = run_sitegen("resolve", "--source", str(site), "--interval", "0.01",
                             env={"SITEGEN_ARXIV_API": fake.url})
    assert result.returncode == 0, result.stderr
    assert "[5/7] 3 resolved, 1 ambiguous, 1 not found" in result.stderr
    assert "Looked up 7 papers on arXiv: 4 resolved, 2 ambiguous, 1 not found." in result.stdout
    text = (site / "content" / "metadata.toml").read_text(encoding="utf-8")
    assert text.startswith("# Paper metadata: written by `sitegen resolve`")
    assert tomllib.loads(text)["paper"][0]["title"] == "A Title Nobody Wrote"  # sorted by title


def test_arxiv_org_is_never_asked_more_often_than_every_3_seconds(tmp_path):
    result = run_sitegen("resolve", "--source", str(small_site(tmp_path)), "--interval", "0.5")
    assert result.returncode == 1
    assert "--interval: arXiv asks for at most one request every 3 s; use --interval 3 or more" in result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT])
def test_an_interrupted_run_loses_nothing_and_the_next_one_resumes(tmp_path, how):
    site = small_site(tmp_path)
    process: list[subprocess.Popen] = []

    def interrupt() -> None:
        process[0].send_signal(how)
        process[0].wait(timeout=30)

    with FakeArxiv(["batch1.xml", ("call", interrupt, "batch2.xml")]) as fake:
        process.append(subprocess.Popen(
            [sys.executable, "-m", "sitegen", "resolve", "--source", str(site), "--interval", "0.01",
             "--api", fake.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        _, stderr = process[0].communicate(timeout=60)
    if how == signal.SIGINT:
        assert process[0].returncode == 130 and "Traceback" not in stderr
        assert "interrupted; what was found so far is saved in content/metadata.toml" in stderr
    assert sorted(entries(site)) == sorted(BATCH1)  # the first query's results, whole
    assert not [p for p in (site / "content").iterdir() if p.name.startswith(".metadata-")]
    with FakeArxiv(["batch2.xml"]) as fake:
        outcome, _ = run(site, fake)
    assert fake.queries == [title_query(BATCH2)]  # goes on where it stopped
    assert len(entries(site)) == 7


def test_a_broken_metadata_file_stops_the_look_up_before_any_request(tmp_path):
    site = small_site(tmp_path)
    (site / "content" / "metadata.toml").write_text('[[paper]]\ntitle = "X"\narxiv = "not an id"\n')
    with FakeArxiv([]) as fake, pytest.raises(BuildError, match=r"content/metadata.toml:3: arxiv of 'X'"):
        run(site, fake)
    assert fake.requests == []


def test_parse_feed_reads_the_documented_fields():
    entries_, total = parse_feed((Path(__file__).parent / "fixtures" / "arxiv" / "batch1.xml").read_bytes())
    assert total == 4 and entries_[0].title == "Puzzle: Distillation-Based NAS for Inference-Optimized LLMs"
    assert entries_[1].authors == ("Ada Lovelace", "Alan Turing")


def test_default_pace_is_arxivs():
    client = ArxivClient()
    assert client.interval == 3.0 and client.api == "https://export.arxiv.org/api/query"
    slept: list[float] = []
    now = [100.0]
    client = ArxivClient(sleep=slept.append, clock=lambda: now[0])
    client._pace()
    now[0] += 1.0
    client._pace()
    assert slept == [2.0]
    assert time.monotonic()  # the default clock
