"""A full or read-only disk stops a build with one line, `path: what went wrong; what to do`, and
leaves nothing of the build behind: no traceback, no staging, the previous output as it was.

The disks are real: a small tmpfs (full), a read-only bind mount. Mounting needs root (or the
capability); without it the tests are skipped.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hostile.harness import LISTINGS, build, make_site, snapshot

ABSTRACT = ("We study a problem that matters for efficient inference. Our method improves throughput "
            "by a wide margin on standard benchmarks, and we release code at https://github.com/x/y.")


def _compact(numbers) -> str:
    lines = ["Get trending papers in your email inbox!"]
    for i in numbers:
        lines += [f"Generated paper number {i} on fast kernels", f"Abstract {i}. {ABSTRACT}"]
    return "\n".join(lines) + "\n"


def _mount(*args: str) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        pytest.skip(f"cannot mount here ({result.stderr.strip() or 'mount failed'}); the test needs root")


@pytest.fixture
def mounts() -> Iterator[Callable[..., None]]:
    """`mount(*args, at)`: mounts, unmounted after the test (last first)."""
    made: list[Path] = []

    def mount(*args: str, at: Path) -> None:
        at.mkdir(parents=True, exist_ok=True)
        _mount(*args, str(at))
        made.append(at)

    yield mount
    for path in reversed(made):
        subprocess.run(["umount", str(path)], check=True)


def _one_line_error(result: subprocess.CompletedProcess, path: Path, problem: str) -> None:
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if not line.startswith("warning: ")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    assert errors[0].startswith(f"error: {path}") and f": {problem};" in errors[0], errors[0]
    assert "--out" in errors[0], "says what to do"


LEFTOVERS = (".sitegen-tmp", ".pagefind.sitegen-tmp", ".sitegen-manifest.sitegen-tmp")


def test_a_full_disk_stops_the_render_workers_with_one_line(tmp_path, mounts):
    """300 papers: the pages are staged by the render workers, in their processes."""
    root = make_site(tmp_path / "site", {"a.txt": _compact(range(300))})
    disk = tmp_path / "disk"
    mounts("-t", "tmpfs", "-o", "size=512k", "tmpfs", at=disk)
    result = build(root, disk / "out", "-q", "--no-search")
    _one_line_error(result, disk / "out", "no space left on the device")
    assert list(disk.iterdir()) == [], "the staging, and the output it made, are removed"


@pytest.mark.slow
def test_a_full_disk_leaves_the_previous_output_as_it_was(tmp_path, mounts):
    root = make_site(tmp_path / "site", {"a.txt": _compact(range(3))})
    disk = tmp_path / "disk"
    mounts("-t", "tmpfs", "-o", "size=400k", "tmpfs", at=disk)
    out = disk / "out"
    assert build(root, out, "-q", "--no-search").returncode == 0
    before = snapshot(out)
    (root / LISTINGS / "a.txt").write_text(_compact(range(60)))
    _one_line_error(build(root, out, "-q", "--no-search"), out, "no space left on the device")
    assert snapshot(out) == before


@pytest.mark.slow
def test_a_full_disk_at_the_search_index_swap_removes_the_copy(tmp_path, mounts):
    """The pages fit, Pagefind's bundle (written in the temporary directory) does not: the
    part of it copied so far would keep the disk full."""
    root = make_site(tmp_path / "site", {"a.txt": _compact(range(3))})
    disk = tmp_path / "disk"
    mounts("-t", "tmpfs", "-o", "size=300k", "tmpfs", at=disk)
    out = disk / "out"
    assert build(root, out, "-q", "--no-search").returncode == 0
    pages = snapshot(out, exclude=(".sitegen-state",))
    _one_line_error(build(root, out, "-q"), out / "pagefind", "no space left on the device")
    assert snapshot(out, exclude=(".sitegen-state",)) == pages, "the pages stay, with no part of an index"


@pytest.mark.slow
def test_a_read_only_output_stops_the_build_with_one_line(tmp_path, mounts):
    root = make_site(tmp_path / "site", {"a.txt": _compact(range(3))})
    shelf = tmp_path / "shelf"
    out = shelf / "out"
    assert build(root, out, "-q", "--no-search").returncode == 0
    before = snapshot(out)
    mounts("--bind", str(shelf), at=shelf)
    _mount("-o", "remount,bind,ro", str(shelf))  # the same mount, read-only now
    (root / LISTINGS / "a.txt").write_text(_compact(range(5)))
    _one_line_error(build(root, out, "-q", "--no-search"), out, "the file system is read-only")
    assert snapshot(out) == before
    _one_line_error(build(root, shelf / "new", "-q", "--no-search"), shelf / "new",
                    "the file system is read-only")
