"""A build that is killed or terminated leaves no process and no scratch directory behind.

Real builds through the CLI in their own session; every wait polls a condition with a deadline.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.generate import generate
from hostile.harness import REPO, build, snapshot

PAPERS = 1000

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists() or not hasattr(os, "fork"),
                                reason="needs fork and /proc to see a build's processes")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """1,000 papers like the real ones: their related papers take a second and fill a pipe (90 KB)."""
    root = tmp_path_factory.mktemp("killed") / "site"
    generate(PAPERS, root)
    return root


@pytest.fixture(scope="module")
def other_site(tmp_path_factory) -> Path:
    """Other papers: a build of these replaces every page of `site`'s output."""
    root = tmp_path_factory.mktemp("killed") / "other"
    generate(PAPERS, root, seed=1)
    return root


class Build:
    """`sitegen build` in a session of its own, its stderr read line by line."""

    def __init__(self, site: Path, out: Path, *args: str, temp: Path):
        env = {**os.environ, "PYTHONPATH": str(REPO), "TMPDIR": str(temp)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "build", "--source", str(site), "--out", str(out), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, start_new_session=True)
        self.stderr = b""
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.process.stderr, selectors.EVENT_READ)
        self._open = True

    def _read(self, deadline: float) -> bool:
        """Read what stderr has until `deadline`; False once every writer has closed it."""
        while self._open and self._selector.select(max(0.0, deadline - time.monotonic())):
            data = os.read(self.process.stderr.fileno(), 65536)
            self.stderr += data
            self._open = bool(data)
            if time.monotonic() >= deadline:
                break
        return self._open

    def after_stage(self, stage: str, timeout: float = 120) -> None:
        """Wait until the build reports that `stage` ended."""
        deadline = time.monotonic() + timeout
        while not any(line.split()[:1] == [stage.encode()] for line in self.stderr.splitlines()):
            if not self._read(min(deadline, time.monotonic() + 0.05)) or time.monotonic() > deadline:
                pytest.fail(f"the build ended before {stage!r}: {self.stderr.decode()}")

    def output_closed(self, timeout: float) -> bool:
        """Whether every process holding the build's stderr closes it within `timeout` (`| cat` returns)."""
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            if time.monotonic() >= deadline:
                return False
        return True

    def left(self) -> list[str]:
        """The processes of its session still running (not zombies)."""
        found = []
        for entry in os.listdir("/proc"):
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except (OSError, ValueError):
                continue
            state, _, _, session = stat.rsplit(")", 1)[1].split()[:4]
            if entry.isdigit() and int(session) == self.process.pid and state != "Z":
                found.append(stat.split(")")[0] + ")")
        return found

    def none_left(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while self.left():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=60)
        self.process.stderr.close()


def _scratch(temp: Path) -> list[str]:
    return sorted(entry.name for entry in temp.iterdir() if entry.name.startswith("sitegen-"))


@pytest.fixture
def temp(tmp_path) -> Path:
    """The builds' TMPDIR: their scratch directories go there, and only theirs."""
    (tmp_path / "tmp").mkdir()
    return tmp_path / "tmp"


@pytest.mark.slow
def test_a_build_killed_while_relating_leaves_no_process_and_closes_its_output(site, tmp_path, temp):
    """`sitegen build 2>&1 | cat` returns when the build is killed: its workers exit with it."""
    run = Build(site, tmp_path / "out", temp=temp)
    try:
        run.after_stage("classify")  # the related papers are being found in a forked process
        os.kill(run.process.pid, signal.SIGKILL)
        run.process.wait(timeout=60)
        assert run.output_closed(timeout=60), f"a process still holds the build's output: {run.left()}"
        assert run.none_left(timeout=60), run.left()
    finally:
        run.close()


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["merge", "search-start", "relate"])
def test_sigterm_stops_a_build_like_ctrl_c(site, other_site, tmp_path, temp, stage):
    out = tmp_path / "out"
    assert build(site, out, "-q", "--no-search").returncode == 0
    before = snapshot(out)
    run = Build(other_site, out, temp=temp)
    try:
        run.after_stage(stage)
        os.kill(run.process.pid, signal.SIGTERM)
        assert run.process.wait(timeout=60) == 143, run.stderr.decode()
        assert run.output_closed(timeout=60) and run.none_left(timeout=60), run.left()
    finally:
        run.close()
    stderr = run.stderr.decode()
    assert "Traceback" not in stderr and "terminated" in stderr, stderr
    assert snapshot(out) == before, "the output is as it was before the build"
    assert _scratch(temp) == [], "the build removed its scratch directories"


@pytest.mark.slow
def test_the_scratch_directories_of_a_killed_build_are_removed_by_the_next(site, tmp_path, temp):
    run = Build(site, tmp_path / "out", temp=temp)
    try:
        deadline = time.monotonic() + 120
        while {name.split("-")[1] for name in _scratch(temp)} != {"search", "pagefind"}:
            assert run.process.poll() is None and time.monotonic() < deadline, run.stderr.decode()
            time.sleep(0.01)
        os.kill(run.process.pid, signal.SIGKILL)
        run.process.wait(timeout=60)
        run.none_left(timeout=60)
    finally:
        run.close()
    assert _scratch(temp), "the killed build left its scratch directories"
    result = build(site, tmp_path / "out", "-q", env={"TMPDIR": str(temp)})
    assert result.returncode == 0, result.stderr
    assert _scratch(temp) == [], "the next build removed them"


def test_a_scratch_directory_in_use_is_never_taken_for_a_stale_one(tmp_path):
    """Another build's (here: this process's own, through another descriptor) is kept; one that no
    process holds is removed, and so is what an older sitegen left (never locked)."""
    from sitegen.search import ScratchDir

    in_use = ScratchDir("sitegen-search-", str(tmp_path))
    (in_use.path / "page.html").write_text("stand-in")
    (tmp_path / "sitegen-search-1-abcdefgh").mkdir()
    (tmp_path / "sitegen-search-other").mkdir()  # not a name ScratchDir makes
    second = ScratchDir("sitegen-search-", str(tmp_path))
    assert (in_use.path / "page.html").read_text() == "stand-in"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [in_use.path.name, second.path.name, "sitegen-search-other"])
    for scratch in (in_use, second):
        scratch.close()
    assert [p.name for p in tmp_path.iterdir()] == ["sitegen-search-other"]
