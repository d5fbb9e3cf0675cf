"""The fast paths give the bytes of the slow ones: parallel render, the no-change rebuild, the
incremental rebuild of the preview server. Real builds in this process; nothing is timed."""

from __future__ import annotations

import multiprocessing
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import copy_seed_source, run_sitegen
from sitegen.build import BuildCache, build
from sitegen.preview_build import preview_build
from sitegen.config import load_config


def files_of(out: Path) -> dict[str, bytes]:
    """Every file of a build by relative path, the search bundle (its names carry run-to-run
    hashes) and the build's own bookkeeping left out."""
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and not p.relative_to(out).as_posix().startswith(("pagefind/", ".sitegen"))}


def clean_build(source: Path, out: Path, **options) -> dict[str, bytes]:
    shutil.rmtree(out, ignore_errors=True)
    build(load_config(source), out, search=False, **options)
    return files_of(out)


@pytest.fixture
def source(tmp_path) -> Path:
    return copy_seed_source(tmp_path / "source")


@pytest.mark.slow
def test_parallel_render_gives_the_bytes_of_a_serial_one(source, tmp_path):
    serial = clean_build(source, tmp_path / "serial", workers=1)
    parallel = clean_build(source, tmp_path / "parallel", workers=3)
    assert len(serial) > 200  # more pages than one worker's chunk: the workers really share them
    assert parallel == serial


# --- The rebuild with nothing changed ---------------------------------------------------------

def mtimes(out: Path) -> dict[str, int]:
    return {p.relative_to(out).as_posix(): p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_a_rebuild_with_nothing_changed_writes_nothing_and_leaves_the_index_alone(source, tmp_path):
    out = tmp_path / "site"
    first = run_sitegen("build", "--source", str(source), "--out", str(out))
    assert first.returncode == 0, first.stderr
    before = mtimes(out)
    assert any(path.startswith("pagefind/") for path in before)
    again = run_sitegen("build", "--source", str(source), "--out", str(out))
    assert again.returncode == 0, again.stderr
    assert "0 written" in again.stdout and "nothing changed; search index unchanged" in again.stdout
    assert mtimes(out) == before, "not a file rewritten, the search bundle included"
    assert warnings_of(again) == warnings_of(first), "the warnings of the build that made the output"


def warnings_of(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("warning:")]


@pytest.mark.slow
def test_the_no_change_rebuild_notices_every_kind_of_change(source, tmp_path):
    out = tmp_path / "site"

    def rebuild(*args: str) -> str:
        result = run_sitegen("build", "--source", str(source), "--out", str(out), "--no-search", *args)
        assert result.returncode == 0, result.stderr
        return result.stdout

    rebuild()
    assert "nothing changed" in rebuild()
    (out / "papers" / "index.html").unlink()  # a file of the output gone: built again
    assert "nothing changed" not in rebuild() and (out / "papers" / "index.html").is_file()
    (source / "content" / "pages" / "about.md").write_text("# About\n\nChanged.\n")
    assert "nothing changed" not in rebuild()
    (source / "templates").mkdir()
    (source / "templates" / "404.html").write_text('{% extends "base.html" %}{% block main %}Gone{% endblock %}\n')
    assert "nothing changed" not in rebuild()
    assert "nothing changed" not in rebuild("--base-url", "https://example.org/x/")
    assert "nothing changed" in rebuild("--base-url", "https://example.org/x/")
    assert "nothing changed" not in rebuild()
    assert clean_build(source, tmp_path / "clean") == files_of(out)
    (source / "content" / "notes" / "no-such-paper.md").write_text("A note for no paper.\n")  # a warning
    assert "nothing changed" not in rebuild()
    assert "nothing changed" in rebuild()
    strict = run_sitegen("build", "--source", str(source), "--out", str(out), "--no-search", "--strict")
    assert strict.returncode == 1 and "--strict" in strict.stderr, "warnings of a skipped build still count"


# --- Incremental rebuilds (the preview server's) ------------------------------------------------

def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text("utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), "utf-8")


def delete_paper(path: Path, title: str) -> None:
    """Remove a paper from a rich listing: its title, abstract and metadata blocks."""
    blocks = path.read_text("utf-8").split("\n\n")
    at = blocks.index(title)
    path.write_text("\n\n".join(blocks[:at] + blocks[at + 3:]), "utf-8")


EDITS = {
    "abstract": lambda s: edit(next((s / "content/listings").glob("000_*")), "Recent advances in reasoning",
                               "Recent big advances on an H100 in reasoning"),
    "title": lambda s: edit(next((s / "content/listings").glob("000_*")),
                            "HelpSteer2: Open-source dataset", "HelpSteer3: An open dataset"),
    "upvotes": lambda s: edit(next((s / "content/listings").glob("000_*")), "May 30 3", "May 30 12"),
    "added": lambda s: (next((s / "content/listings").glob("000_*")).open("a").write(
        "\n\nA Freshly Added Paper About Tensor Cores\n\nWe measure tensor cores on an H100 and find "
        "that they are fast.\n\n  • 3 authors\n·\nOct 1 7\n")),
    "deleted": lambda s: delete_paper(next((s / "content/listings").glob("000_*")),
                                      "Efficient and Privacy-Preserving Soft Prompt Transfer for LLMs"),
    "listing removed": lambda s: next((s / "content/listings").glob("004_*")).unlink(),
    "note": lambda s: (s / "content/notes/helpsteer2-open-source-dataset-for-training-top-performing-reward-models.md"
                       ).write_text("A note.\n"),
    "rules": lambda s: edit(s / "content/rules.toml", "\n[[topic]]\n", '\n[[topic]]\nname = "Reward models"\n'
                            'match = ["reward model"]\n\n[[topic]]\n'),
    "settings": lambda s: edit(s / "sitegen.toml", 'title = "Efficient ML paper listings"', 'title = "Other"'),
    "template": lambda s: ((s / "templates").mkdir(), (s / "templates" / "404.html").write_text(
        '{% extends "base.html" %}{% block main %}{{ site.papers | length }} papers, none here{% endblock %}\n')),
}


OPEN = frozenset({"index.html", "listings/daily-papers-4-november-2025/index.html", "papers/index.html",
                  "papers/helpsteer2-open-source-dataset-for-training-top-performing-reward-models/index.html",
                  "topics/alignment/index.html", "hardware/index.html", "search/index.html", "404.html",
                  "no/such/page.html"})
"""Pages the preview's browsers show: one of each kind, and one the site does not have."""


@pytest.mark.slow
@pytest.mark.parametrize("steps", ["exact", "quick", "open pages first"],
                         ids=["exact", "quick then exact", "open pages, quick, then exact"])
@pytest.mark.parametrize("change", EDITS)
def test_an_incremental_rebuild_writes_what_a_clean_build_writes(source, tmp_path, change, steps):
    cache = BuildCache()
    out = tmp_path / "served"
    build(load_config(source), out, search=False, cache=cache)
    EDITS[change](source)
    if steps == "open pages first":
        before = files_of(out)
        first = preview_build(load_config(source), out, search=False, cache=cache, only=OPEN)
        after = files_of(out)
        assert not first.exact and not first.removed
        assert set(after) == set(before), "no file added or removed"
        assert {path for path in after if after[path] != before[path]} == set(first.written) <= OPEN
        assert first.written, "every change shows on one of the open pages at least"
    if steps != "exact":
        result = preview_build(load_config(source), out, search=False, cache=cache, quick=True)
        if steps == "open pages first":
            assert not OPEN & set(result.written), "the open pages were written as the quick build writes them"
        if result.exact:
            assert files_of(out) == clean_build(source, tmp_path / "clean")
    result = build(load_config(source), out, search=False, cache=cache)
    assert result.exact
    assert files_of(out) == clean_build(source, tmp_path / "clean")
    if change in ("abstract", "upvotes", "note"):
        assert cache.pages.pages, "pages were kept, not all rendered again"


@pytest.mark.slow
def test_incremental_rebuilds_one_after_another(source, tmp_path):
    cache = BuildCache()
    out = tmp_path / "served"
    build(load_config(source), out, search=False, cache=cache)
    for change in EDITS:
        EDITS[change](source)
        preview_build(load_config(source), out, search=False, cache=cache, quick=True)
        build(load_config(source), out, search=False, cache=cache)
    assert files_of(out) == clean_build(source, tmp_path / "clean")


@pytest.mark.slow
def test_one_edited_abstract_renders_only_the_pages_that_show_it(source, tmp_path):
    cache = BuildCache()
    out = tmp_path / "served"
    build(load_config(source), out, search=False, cache=cache)
    EDITS["upvotes"](source)
    result = build(load_config(source), out, search=False, cache=cache)
    paper_pages = [p for p in result.written if p.startswith("papers/") and p.count("/") == 2]
    assert 0 < len(paper_pages) <= 10, paper_pages  # the paper, and those that show it (related, next)
    assert len(result.written) < 60, result.written  # and the lists that show its upvotes


@pytest.mark.slow
def test_a_quick_rebuild_leaves_the_data_files_to_the_exact_one(source, tmp_path):
    cache = BuildCache()
    out = tmp_path / "served"
    build(load_config(source), out, search=False, cache=cache)
    before = {name: (out / name).read_bytes() for name in ("papers.json", "sitemap.xml", "feed.xml")}
    EDITS["upvotes"](source)
    quick = preview_build(load_config(source), out, search=False, cache=cache, quick=True)
    assert not quick.exact and quick.written, "pages that show the upvotes were written"
    assert not any(path in quick.written for path in before)
    assert {name: (out / name).read_bytes() for name in before} == before
    exact = build(load_config(source), out, search=False, cache=cache)
    assert exact.exact and "papers.json" in exact.written
    assert files_of(out) == clean_build(source, tmp_path / "clean")


# --- Work beside the build --------------------------------------------------------------------

def _fails(path: str) -> None:
    from sitegen.diagnostics import BuildError
    raise BuildError(path, 7, "it failed over there")


def test_a_forked_computation_gives_its_value_or_its_error_here():
    from sitegen.diagnostics import BuildCancelled, BuildError
    from sitegen.parallel import Forked

    assert Forked(sorted, [3, 1, 2], then=tuple).result() == (1, 2, 3)
    assert Forked(sorted, [3, 1, 2], fork=False).result() == [1, 2, 3]
    with pytest.raises(BuildError) as error:
        Forked(_fails, "x.txt").result()
    assert (error.value.diagnostic.file, error.value.diagnostic.line) == ("x.txt", 7)
    pending = Forked(__import__("time").sleep, 60)
    pending.close()  # a build that failed meanwhile: the process is stopped, not waited for
    assert pending._process is None
    asked: list[bool] = []
    with pytest.raises(BuildCancelled):  # a build that gives way: asked while it waits
        Forked(__import__("time").sleep, 60).result(cancelled=lambda: asked.append(True) or len(asked) > 2)
    assert len(asked) == 3 and multiprocessing.active_children() == []


def test_workers_asked_to_give_way_run_at_a_lower_priority():
    """Work beside the build's critical path gives way (the render workers and the data files to
    the search indexer, classify and the related papers to each other): `nice` lowers the
    priority of the processes it starts, and theirs only."""
    import os
    from sitegen.parallel import Forked, fork_map
    mine = os.nice(0)
    assert fork_map(lambda chunk: [os.nice(0)] * len(chunk), range(40), workers=2, chunk=10,
                    nice=5) == [min(mine + 5, 19)] * 40
    assert fork_map(lambda chunk: [os.nice(0)] * len(chunk), range(40), workers=2, chunk=10) == [mine] * 40
    assert Forked(os.nice, 0, nice=5).result() == min(mine + 5, 19)
    assert os.nice(0) == mine


_STOPPED_EARLY = r"""
import os, signal, sys, time
from sitegen.diagnostics import BuildCancelled
from sitegen.parallel import Forked, fork_imap

def interrupt(signum, frame):  # as `sitegen serve` does
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, interrupt)
os.register_at_fork(after_in_child=lambda: time.sleep(1))  # a fresh process, slow to start its work
start = time.monotonic()
def cancelled():
    return time.monotonic() - start > 0.2
try:
    list(fork_imap(lambda chunk: chunk, list(range(100)), workers=2, chunk=10, cancelled=cancelled))
except BuildCancelled:
    pass
start = time.monotonic()
try:
    Forked(sorted, [2, 1]).result(cancelled)
except BuildCancelled:
    pass
print("stopped")
"""


def test_processes_stopped_before_they_start_their_work_print_nothing():
    """A cancelled build stops its workers however young they are: a worker still in Python's
    own after-fork code has the preview server's SIGTERM handler, so it is killed, not terminated."""
    result = subprocess.run([sys.executable, "-c", _STOPPED_EARLY], capture_output=True, text=True, timeout=60)
    assert result.stdout == "stopped\n"
    assert result.stderr == ""
