"""Same input, same bytes: two builds in separate processes with a different hash seed, time
zone, locale, working directory, source and output location, and input mtimes give
byte-identical trees (Pagefind's own index excepted: its file names change upstream)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hostile.harness import LISTINGS, REPO, build, snapshot

pytestmark = pytest.mark.slow

HOSTILE = Path(__file__).parent / "hostile"
EXTRA = ["emoji_titles.txt", "colliding_titles.txt", "script_tags.txt", "dup_a.txt", "dup_b.txt",
         "line_separators.txt", "title_at_end.txt"]


def _copy_site(dest: Path) -> Path:
    """The repository's default site plus hostile listings that stress slugs, merging and escaping."""
    dest.mkdir(parents=True)
    shutil.copy(REPO / "sitegen.toml", dest / "sitegen.toml")
    shutil.copytree(REPO / "content", dest / "content")
    for name in EXTRA:
        shutil.copy(HOSTILE / name, dest / LISTINGS / f"zz_{name}")
    return dest


def test_two_builds_in_different_environments_are_byte_identical(tmp_path):
    first = _copy_site(tmp_path / "a" / "site")
    second = _copy_site(tmp_path / "elsewhere" / "deeper" / "site")
    for path in second.rglob("*"):  # the same content, other modification times
        os.utime(path, (978307200, 978307200))
    (tmp_path / "cwd1").mkdir()
    (tmp_path / "cwd2" / "x").mkdir(parents=True)

    result1 = build(first, tmp_path / "out1", "-q", cwd=tmp_path / "cwd1",
                    env={"PYTHONHASHSEED": "1", "TZ": "UTC", "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"})
    # Relative paths, a far time zone, another hash seed and locale.
    result2 = build(Path("../../elsewhere/deeper/site"), Path("../out2"), "-q", cwd=tmp_path / "cwd2" / "x",
                    env={"PYTHONHASHSEED": "4242", "TZ": "Pacific/Kiritimati", "LC_ALL": "C", "LANG": "C"})
    assert result1.returncode == 0, result1.stderr
    assert result2.returncode == 0, result2.stderr

    tree1 = snapshot(tmp_path / "out1", exclude=("pagefind",))
    tree2 = snapshot(tmp_path / "cwd2" / "out2", exclude=("pagefind",))
    assert len(tree1) > 150
    differing = sorted(rel for rel in tree1.keys() | tree2.keys() if tree1.get(rel) != tree2.get(rel))
    assert differing == []
    for data in tree1.values():  # nothing of either machine's paths leaks into a page
        assert str(tmp_path).encode() not in data
    assert result1.stderr == result2.stderr.replace("../../elsewhere/deeper/site", str(first)), \
        "the same warnings, in the same order"


def test_a_rebuild_in_place_writes_nothing(tmp_path):
    site = _copy_site(tmp_path / "site")
    out = tmp_path / "out"
    assert build(site, out, "-q", "--no-search", env={"PYTHONHASHSEED": "7"}).returncode == 0
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    result = build(site, out, "--no-search", env={"PYTHONHASHSEED": "8", "TZ": "Asia/Kolkata"})
    assert result.returncode == 0, result.stderr
    assert "(0 written," in result.stdout and " 0 removed)" in result.stdout, result.stdout
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == before
