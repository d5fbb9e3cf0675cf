"""The output directory is never damaged: failed, killed and interrupted builds, refused
directories, and symlinks planted in an old output. Real builds through the CLI."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hostile.harness import LISTINGS, REPO, build, make_site, snapshot
from sitegen.diagnostics import BuildError
from sitegen.output import check_output_dir

ABSTRACT = ("We study a problem that matters for efficient inference. Our method improves throughput "
            "by a wide margin on standard benchmarks, and we release code at https://github.com/x/y.")
LEFTOVERS = (".sitegen-tmp", ".sitegen-manifest.sitegen-tmp")


def _rich(*titles: str) -> str:
    return "Daily Papers\n\nNov 4\n\n" + "".join(
        f"{t}\n\n{ABSTRACT}\n\n  • 3 authors\n·\nMay 3, 2024 5\n\n" for t in titles)


def _compact(numbers) -> str:
    lines = ["Get trending papers in your email inbox!"]
    for i in numbers:
        lines += [f"Generated paper number {i} on fast kernels", f"Abstract {i}. {ABSTRACT}"]
    return "\n".join(lines) + "\n"


def _mtimes(root: Path) -> dict[str, int]:
    return {p.relative_to(root).as_posix(): p.lstat().st_mtime_ns for p in root.rglob("*")}


@pytest.fixture(scope="module")
def built_once(tmp_path_factory) -> tuple[Path, Path]:
    base = tmp_path_factory.mktemp("built")
    root = make_site(base / "site", {"a.txt": _rich("First Paper", "Second Paper"),
                                     "b.txt": _compact(range(3))})
    result = build(root, base / "out", "-q")
    assert result.returncode == 0, result.stderr
    return root, base / "out"


@pytest.fixture
def built(built_once, tmp_path) -> tuple[Path, Path]:
    """A small site and its output with the search index: a fresh copy for each test."""
    root, out = (shutil.copytree(path, tmp_path / path.name, symlinks=True) for path in built_once)
    return root, out


def _break_listing(root: Path) -> str:
    (root / LISTINGS / "c.txt").write_bytes(b"Title\n\nCaf\xe9\n")
    return f"{LISTINGS}/c.txt:3: not valid UTF-8"


def _break_template_syntax(root: Path) -> str:
    (root / "templates").mkdir()
    (root / "templates" / "paper.html").write_text("{% extends 'base.html' %}\n{% block main %}\n{% if %}\n")
    return "templates/paper.html:3: template syntax error"


def _break_template_runtime(root: Path) -> str:
    (root / "templates").mkdir()
    (root / "templates" / "404.html").write_text("{% extends 'base.html' %}\n{% block main %}\n"
                                                 "{{ no_such_variable.x }}\n{% endblock %}\n")
    return "templates/404.html:3: template error"


def _break_config(root: Path) -> str:
    (root / "sitegen.toml").write_text('title = "x"\nbase_url = [\n')
    return "sitegen.toml:"


def _break_rules(root: Path) -> str:
    (root / "content" / "rules.toml").write_text('[[topic]]\nname = "Broken"\nmatch = ["x"\n')
    return "content/rules.toml:"


def _break_rules_regex(root: Path) -> str:
    (root / "content" / "rules.toml").write_text('[[topic]]\nname = "Broken"\nregex = ["(unclosed"]\n')
    return "content/rules.toml:3: invalid regex"


def _strict_warning(root: Path) -> str:
    (root / LISTINGS / "c.txt").write_text("A Title Alone\n")
    return f"{LISTINGS}/c.txt:1:"


FAILURES = {f.__name__.removeprefix("_"): f for f in (
    _break_listing, _break_template_syntax, _break_template_runtime, _break_config, _break_rules,
    _break_rules_regex, _strict_warning)}


@pytest.mark.parametrize("failure", FAILURES)
def test_a_failed_build_leaves_the_previous_output_byte_identical(built, failure):
    root, out = built
    before, mtimes = snapshot(out), _mtimes(out)
    expected = FAILURES[failure](root)
    result = build(root, out, *(["--strict"] if failure == "strict_warning" else []))
    assert result.returncode == 1, result.stderr
    assert f"error: {expected}" in result.stderr
    assert snapshot(out) == before
    assert _mtimes(out) == mtimes, "nothing was even rewritten"


# --- Killed builds -------------------------------------------------------------------------

N_OLD = 1000
"""Papers in the site that a killed build replaces: enough for render and write to take a while."""


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """An old output (v1) and, built elsewhere, what the next version (v2) must produce.

    v2 changes the site title (every page changes), drops 100 papers (stale files to remove)
    and adds 100 (new folders).
    """
    base = tmp_path_factory.mktemp("big")
    root = make_site(base / "site", {"big.txt": _compact(range(N_OLD))}, 'title = "Old"\n')
    old_out = base / "old"
    assert build(root, old_out, "-q", "--no-search").returncode == 0
    (root / "sitegen.toml").write_text('title = "New"\n')
    (root / LISTINGS / "big.txt").write_text(_compact(range(100, N_OLD + 100)))
    new_out = base / "new"
    assert build(root, new_out, "-q", "--no-search").returncode == 0
    return root, old_out, snapshot(old_out), snapshot(new_out)


def _start(root: Path, out: Path, *args: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "sitegen", "build", "--source", str(root), "--out",
                             str(out), "--no-search", *args], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=env, start_new_session=True)


def _after_stage(process: subprocess.Popen, stage: str) -> None:
    """Block until the build reports (on stderr) that `stage` ended."""
    seen = []
    for line in process.stderr:
        seen.append(line)
        if line.split()[:1] == [stage]:
            return
    pytest.fail(f"the build ended before {stage!r}: {''.join(seen)}")


def _when(process: subprocess.Popen, condition, timeout: float = 120) -> None:
    """Poll `condition()` every millisecond while the build runs; fail if it ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None or time.monotonic() > deadline:
            pytest.fail("the build ended before the moment to stop it came")
        time.sleep(0.001)


def _stop(process: subprocess.Popen, sig=signal.SIGKILL) -> str:
    os.killpg(process.pid, sig)
    stderr = process.stderr.read()
    process.wait(timeout=60)
    return stderr


def _files(entries: dict[str, bytes]) -> dict[str, bytes]:
    return {rel: data for rel, data in entries.items() if data != b"dir"}


def _check_consistent(out: Path, old: dict[str, bytes], new: dict[str, bytes]) -> str:
    """Whatever moment the build died at: every file holds its old or its new bytes, nothing the
    new site keeps has vanished, and the manifest lists every file so the next build can clean
    up. Returns the phase the build died in."""
    # The manifest and the state of the last complete build are the writer's bookkeeping, not pages.
    bookkeeping = LEFTOVERS + (".sitegen-state",)
    now = _files(snapshot(out, exclude=bookkeeping))
    old_files, new_files = ({rel: data for rel, data in _files(tree).items() if not rel.startswith(bookkeeping)}
                            for tree in (old, new))
    for rel, data in now.items():
        if rel == ".sitegen-manifest":
            continue
        assert data in (old_files.get(rel), new_files.get(rel)), f"{rel}: neither old nor new bytes (partial)"
    for rel in old_files:
        assert rel in now or rel not in new_files, f"{rel} vanished"
    manifest = set(now[".sitegen-manifest"].decode().split())
    assert set(now) - {".sitegen-manifest"} <= manifest, "files the manifest does not list"
    assert not [rel for rel in now if rel.endswith(".sitegen-tmp")], "temp files among the pages"
    if now == old_files:
        return "staging" if (out / ".sitegen-tmp").exists() else "before writing"
    return "renaming"


def _staged_files(staging: Path) -> int:
    """How many files the writer has staged so far (under their output paths)."""
    return sum(len(files) for _, _, files in os.walk(staging))


def _middle_changed_page(old: dict[str, bytes], new: dict[str, bytes]) -> str:
    """A page halfway through the writer's (sorted) order whose bytes change."""
    changed = sorted(rel for rel, data in _files(new).items() if old.get(rel) not in (None, data))
    return changed[len(changed) // 2]


@pytest.mark.slow
def test_killed_while_rendering_leaves_the_old_tree(big, tmp_path):
    root, old_out, old, _ = big
    out = tmp_path / "out"
    shutil.copytree(old_out, out, symlinks=True)
    process = _start(root, out)
    _after_stage(process, "merge")  # rendering has begun and takes seconds for this site
    time.sleep(0.1)
    _stop(process)
    # Pages are staged as they are rendered: a staging directory may be left, for the next build to remove.
    assert snapshot(out, exclude=LEFTOVERS) == old


@pytest.mark.slow
@pytest.mark.parametrize("moment", ["staging", "renaming"])
def test_killed_while_writing_leaves_old_or_new_files_and_the_next_build_cleans_up(big, tmp_path, moment):
    root, old_out, old, new = big
    out = tmp_path / "out"
    shutil.copytree(old_out, out, symlinks=True)
    process = _start(root, out)
    if moment == "staging":
        staging = out / ".sitegen-tmp"
        _when(process, lambda: _staged_files(staging) > 200)
    else:
        middle = out / _middle_changed_page(old, new)
        _when(process, lambda: middle.read_bytes() != old[middle.relative_to(out).as_posix()])
    _stop(process)
    assert _check_consistent(out, old, new) == moment
    result = build(root, out, "-q", "--no-search")
    assert result.returncode == 0, result.stderr
    assert snapshot(out) == new, "the next build brings the tree to exactly the new site"


@pytest.mark.slow
def test_interrupted_with_ctrl_c_while_writing_cleans_its_staging(big, tmp_path):
    root, old_out, old, new = big
    out = tmp_path / "out"
    shutil.copytree(old_out, out, symlinks=True)
    process = _start(root, out)
    staging = out / ".sitegen-tmp"
    _when(process, lambda: _staged_files(staging) > 200)
    stderr = _stop(process, signal.SIGINT)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert snapshot(out) == old, "interrupted before renaming: the old tree, staging removed"


@pytest.mark.slow
def test_a_first_build_killed_while_writing_does_not_lock_the_directory(big, tmp_path):
    """Killed before its first manifest: the leftovers alone do not make the directory foreign."""
    root, _, _, new = big
    out = tmp_path / "out"
    process = _start(root, out)
    staging = out / ".sitegen-tmp"
    _when(process, lambda: _staged_files(staging) > 200)
    _stop(process)
    result = build(root, out, "-q", "--no-search")
    assert result.returncode == 0, result.stderr
    assert snapshot(out) == new


# --- Directories sitegen must refuse ---------------------------------------------------------

def _refused(root: Path, out: Path, *args: str, env=None) -> str:
    before = snapshot(out)
    result = build(root, out, "-q", *args, env=env)
    assert result.returncode == 1, result.stderr
    assert snapshot(out) == before, "a refused directory was changed"
    return result.stderr


@pytest.fixture
def site(tmp_path) -> Path:
    return make_site(tmp_path / "home" / "site", {"a.txt": _rich("First Paper")})


REFUSED = [  # (output relative to the site, message), refused even with --force
    (".", "is the source directory or contains it"),
    ("..", "is the source directory or contains it"),
    ("../..", "is the source directory or contains it"),
    ("content", "read it back as input"),
    ("content/listings", "read it back as input"),
    ("templates/site", "read it back as input"),
    ("static", "read it back as input"),
]


@pytest.mark.parametrize("force", [False, True])
def test_refused_directories(site, tmp_path, monkeypatch, force):
    """Each refusal, with and without --force, through the real check."""
    for rel, message in REFUSED:
        with pytest.raises(BuildError, match=re.escape(message)):
            check_output_dir(site / rel, site, force=force)
    home = tmp_path / "users" / "me"
    home.mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    for out in (home, home.parent):
        with pytest.raises(BuildError, match="home directory"):
            check_output_dir(out, site, force=force)


@pytest.mark.slow
def test_refusals_through_the_cli_say_why_and_touch_nothing(site, tmp_path):
    assert "error: " in _refused(site, site.parent, "--force")
    assert "read it back as input" in _refused(site, site / "content", "--force")
    home = tmp_path / "users" / "me"
    (home / "notes.txt").parent.mkdir(parents=True)
    (home / "notes.txt").write_text("mine")
    assert "home directory" in _refused(site, home, "--force", env={"HOME": str(home)})


@pytest.mark.slow
def test_refuses_a_foreign_directory_unless_forced(site, tmp_path):
    out = tmp_path / "foreign"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    assert "not written by sitegen" in _refused(site, out)
    result = build(site, out, "-q", "--force", "--no-search")
    assert result.returncode == 0, result.stderr
    assert (out / "thesis.tex").read_text() == "years of work"
    assert (out / "index.html").is_file()
    (site / LISTINGS / "a.txt").write_text(_rich("Another Paper"))
    assert build(site, out, "-q", "--no-search").returncode == 0, "then it is sitegen's"
    assert (out / "thesis.tex").read_text() == "years of work", "files sitegen did not write are kept"


def test_refuses_a_file_and_a_symlinked_directory(site, tmp_path):
    (tmp_path / "file").write_text("x")
    assert "is not a directory" in _refused(site, tmp_path / "file", "--force")
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    assert "is a symlink" in _refused(site, tmp_path / "link", "--force")


# --- Symlinks planted in an old output -------------------------------------------------------

def test_symlinks_planted_in_the_output_are_never_followed(tmp_path):
    root = make_site(tmp_path / "site", {"a.txt": _rich("First Paper", "Second Paper"),
                                         "gone.txt": _rich("Paper That Goes Away")})
    out, fresh = tmp_path / "out", tmp_path / "fresh"
    assert build(root, out, "-q", "--no-search").returncode == 0
    victim = tmp_path / "victim"
    (victim / "papers-dir" / "first-paper").mkdir(parents=True)
    (victim / "papers-dir" / "first-paper" / "index.html").write_text("victim page")
    (victim / "listing-dir").mkdir()
    (victim / "listing-dir" / "index.html").write_text("victim listing")
    (victim / "file.html").write_text("victim file")
    (victim / "static-dir").mkdir()
    (victim / "static-dir" / "style.css").write_text("victim css")

    def plant(rel: str, target: Path) -> None:
        path = out / rel
        shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        path.symlink_to(target, target_is_directory=target.is_dir())

    plant("papers", victim / "papers-dir")                 # a folder the build writes into
    plant("index.html", victim / "file.html")              # a file the build rewrites
    plant("static", victim / "static-dir")                 # a folder whose files are unchanged
    gone = next(d.name for d in (out / "listings").iterdir()
                if d.is_dir() and "Paper That Goes Away" in (d / "index.html").read_text())
    plant(f"listings/{gone}", victim / "listing-dir")     # a folder only stale files were in
    (out / "stray-link").symlink_to(victim, target_is_directory=True)  # a name the build never uses
    manifest = (out / ".sitegen-manifest").read_text()
    plant(".sitegen-manifest", victim / "manifest")
    (victim / "manifest").write_text(manifest + "../victim/file.html\n")
    before = snapshot(victim)

    (root / LISTINGS / "gone.txt").unlink()
    result = build(root, out, "-q", "--no-search")
    assert result.returncode == 0, result.stderr
    assert snapshot(victim) == before, "the writer wrote or deleted through a symlink"
    assert [p for p in out.rglob("*") if p.is_symlink()] == []
    assert build(root, fresh, "-q", "--no-search").returncode == 0
    assert snapshot(out) == snapshot(fresh)


def test_a_manifest_naming_paths_outside_is_not_obeyed(tmp_path):
    root = make_site(tmp_path / "site", {"a.txt": _rich("First Paper")})
    out = tmp_path / "out"
    assert build(root, out, "-q", "--no-search").returncode == 0
    (tmp_path / "precious.txt").write_text("keep me")
    with open(out / ".sitegen-manifest", "a") as manifest:
        manifest.write("../precious.txt\n/etc/hostname\n./index.html\npapers/../../precious.txt\n")
    assert build(root, out, "-q", "--no-search").returncode == 0
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_a_commit_without_tidying_never_deletes_through_a_symlink(tmp_path):
    """The preview's quick builds skip the symlink walk: a stale file behind a symlinked
    directory is still not deleted through it."""
    from sitegen.output import SiteWriter, write_site

    out = tmp_path / "out"
    write_site(out, {"a/old.html": b"old", "index.html": b"home"})
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "old.html").write_bytes(b"the user's file")
    shutil.rmtree(out / "a")
    (out / "a").symlink_to(victim, target_is_directory=True)
    with SiteWriter(out) as writer:
        writer.add("index.html", b"home again")
        report = writer.commit(tidy=False)
    assert (victim / "old.html").read_bytes() == b"the user's file"
    assert report.removed == ()
    assert (out / "index.html").read_bytes() == b"home again"


@pytest.mark.parametrize("path", ["../escaped.html", "{tmp}/escaped.html", "a/../../escaped.html",
                                  ".sitegen-tmp/x.html", ".sitegen-manifest"])
def test_a_page_staged_by_a_worker_never_lands_outside_the_staging_directory(tmp_path, path):
    """The render workers stage pages themselves (`SiteWriter.stage`): a bad path is refused
    before anything is written, and a path counted twice is refused when it is counted."""
    from sitegen.output import SiteWriter, write_site

    out = tmp_path / "out"
    write_site(out, {"index.html": b"home"})
    before = snapshot(tmp_path)
    with SiteWriter(out) as writer:
        with pytest.raises(ValueError):
            writer.stage(path.format(tmp=tmp_path), b"<p>escaped</p>")
        assert writer.stage("papers/a/index.html", b"a") is True
        assert writer.stage("index.html", b"home") is False  # the file on disk holds it
        writer.added("papers/a/index.html", True)
        with pytest.raises(ValueError):
            writer.added("papers/a/index.html", True)
    assert snapshot(tmp_path) == before


# --- --force into a directory that holds the user's files --------------------------------------

@pytest.mark.slow
def test_force_never_removes_what_sitegen_did_not_write(tmp_path):
    """Symlinks and files that were there before are kept, however many builds follow; only
    the paths sitegen writes are taken over, and symlinks planted in its own folders removed."""
    root = make_site(tmp_path / "site", {"a.txt": _rich("First Paper", "Second Paper"),
                                         "gone.txt": _rich("Paper That Goes Away")})
    proj = tmp_path / "proj"
    (proj / "lib").mkdir(parents=True)
    (proj / "lib" / "libfoo.so.1.2").write_text("the library")
    (proj / "lib" / "libfoo.so.1").symlink_to("libfoo.so.1.2")
    (proj / "docs").symlink_to("lib", target_is_directory=True)
    (proj / "index.html").symlink_to("lib/libfoo.so.1.2")  # on a path sitegen writes
    theirs = {rel: data for rel, data in snapshot(proj).items() if rel != "index.html"}

    result = build(root, proj, "-q", "--force", "--no-search")
    assert result.returncode == 0, result.stderr
    assert not (proj / "index.html").is_symlink() and b"First Paper" in (proj / "index.html").read_bytes()
    (proj / "papers" / "planted").symlink_to(tmp_path, target_is_directory=True)  # in a folder sitegen made
    (root / LISTINGS / "gone.txt").unlink()
    result = build(root, proj, "-q", "--no-search")
    assert result.returncode == 0, result.stderr
    assert not (proj / "papers" / "planted").is_symlink(), "a symlink in sitegen's own folder"
    assert {rel: data for rel, data in snapshot(proj).items() if rel in theirs} == theirs
    written = set((proj / ".sitegen-manifest").read_text().split()) | {".sitegen-manifest", ".sitegen-state"}
    assert sorted(rel for rel, data in snapshot(proj).items()
                  if data != b"dir" and rel not in theirs and rel not in written) == []


@pytest.mark.parametrize("target", ["/", "/usr", "/etc", "/usr/lib", "/var", "/boot"])
def test_system_directories_are_refused_even_with_force(site, target):
    with pytest.raises(BuildError, match="system directory|home directory|contains it"):
        check_output_dir(Path(target), site, force=True)
