"""The only writer: bring an output directory up to date with the rendered files.

Files whose bytes did not change are not touched; new and changed files are first
written in full into a staging directory inside the output and then renamed into place;
files an earlier build produced and this one did not are removed. A manifest marks the
directory as sitegen's own.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import BuildError

MANIFEST = ".sitegen-manifest"
TEMP_SUFFIX = ".sitegen-tmp"
STAGING = ".sitegen-tmp"
"""Directory in the output where a write stages new files; removed when the write ends
(or, after a write that was killed, when the next one starts)."""
_LEFTOVER_SUFFIXES = (TEMP_SUFFIX, ".sitegen-old")


@dataclass(frozen=True)
class WriteReport:
    """What a write changed."""

    written: tuple[str, ...]
    """Paths (relative, `/`-separated) whose bytes were new or changed."""
    unchanged: int
    removed: tuple[str, ...]


def check_output_dir(out_dir: Path, source_dir: Path, force: bool = False) -> None:
    """Refuse output directories that would destroy the user's files."""
    out, source = out_dir.resolve(), source_dir.resolve()
    if out == source or source.is_relative_to(out):
        raise BuildError(str(out_dir), 0, "the output directory is the source directory or contains it; "
                         "choose another --out, for example site/")
    if Path.home().resolve().is_relative_to(out):
        raise BuildError(str(out_dir), 0, "refusing to write into your home directory, the root "
                         "directory or a directory that contains your home; choose another --out, "
                         "for example site/")
    inputs = [source / name for name in ("content", "templates", "static")]
    if any(out.is_relative_to(directory) for directory in inputs):
        raise BuildError(str(out_dir), 0, "the output directory is inside the site's content/, templates/ "
                         "or static/, so the next build would read it back as input; choose another "
                         "--out, for example site/")
    if out_dir.is_symlink():
        raise BuildError(str(out_dir), 0, "the output directory is a symlink; give its real path")
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildError(str(out_dir), 0, "exists and is not a directory; remove it or choose another --out")
    if (out_dir.is_dir() and not (out_dir / MANIFEST).is_file() and not force
            and any(not _is_leftover(entry.name) for entry in out_dir.iterdir())):
        raise BuildError(str(out_dir), 0, "is not empty and was not written by sitegen; "
                         "empty it, choose another --out, or pass --force to write into it anyway")


def read_manifest(out_dir: Path) -> set[str]:
    """Files the previous build wrote into `out_dir` (entries that are not plain relative paths are ignored)."""
    try:
        return set(filter(_valid, (out_dir / MANIFEST).read_text("utf-8").split("\n")))
    except (OSError, UnicodeDecodeError):
        return set()


def write_site(out_dir: Path, files: dict[str, bytes], keep: tuple[str, ...] = ()) -> WriteReport:
    """Make `out_dir` hold exactly `files` (plus paths under the `keep` prefixes).

    New and changed files are written in full under `STAGING` first; only then is the tree
    touched: the manifest is extended by every path about to appear (so that an interrupted
    write leaves a directory the next build recognises and cleans up), symlinks are removed
    (the writer never writes or deletes through one, and a published tree holds none), the
    staged files are renamed into place one by one (each file holds its old bytes or its new
    ones, never part of them), stale files are removed and the manifest is rewritten.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = read_manifest(out_dir)
    _remove_leftovers(out_dir)
    staging = out_dir / STAGING
    staged: list[tuple[Path, str]] = []
    unchanged = 0
    plain_dirs: dict[Path, bool] = {}
    try:
        for rel in sorted(files):
            if not _valid(rel) or rel.split("/", 1)[0] in (STAGING, MANIFEST):
                raise ValueError(f"bad output path {rel!r}")
            data = files[rel]
            if _plain_parents(out_dir, rel, plain_dirs) and _same_bytes(out_dir / rel, data):
                unchanged += 1
                continue
            if not staged:
                staging.mkdir()
            temp = staging / str(len(staged))
            temp.write_bytes(data)
            staged.append((temp, rel))
        if staged:
            _write_manifest(out_dir, previous | set(files))
        _remove_symlinks(out_dir)
        for temp, rel in staged:
            target = _target(out_dir, rel)
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(temp, target)
    finally:
        _remove_tree(staging)
    removed = []
    for rel in sorted(previous - set(files)):
        if rel.startswith(keep):
            continue
        path = out_dir / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(rel)
            _remove_empty_parents(path.parent, out_dir)
    _write_manifest(out_dir, set(files))
    return WriteReport(tuple(rel for _, rel in staged), unchanged, tuple(removed))


def _valid(rel: str) -> bool:
    """A relative `/`-separated path that stays inside the directory it is joined to."""
    return bool(rel) and not rel.startswith("/") and "\\" not in rel and "\0" not in rel and all(
        part not in ("", ".", "..") for part in rel.split("/"))


def _write_manifest(out_dir: Path, paths: set[str]) -> None:
    """Replace the manifest atomically (never through a symlink), unless it already says this."""
    manifest = "".join(f"{rel}\n" for rel in sorted(paths)).encode()
    if _same_bytes(out_dir / MANIFEST, manifest):
        return
    temp = out_dir / (MANIFEST + TEMP_SUFFIX)
    temp.unlink(missing_ok=True)
    temp.write_bytes(manifest)
    os.replace(temp, out_dir / MANIFEST)


def _is_leftover(name: str) -> bool:
    """A top-level name that only a killed write or index swap leaves behind."""
    return name.startswith(".") and name.endswith(_LEFTOVER_SUFFIXES)


def _remove_leftovers(out_dir: Path) -> None:
    """Remove what a killed write or index swap left: `.sitegen-tmp`, `.<name>.sitegen-tmp`, `.<name>.sitegen-old`."""
    for entry in os.scandir(out_dir):
        if _is_leftover(entry.name):
            _remove_tree(Path(entry.path))


def _remove_symlinks(directory: Path) -> None:
    """Unlink every symlink under `directory` (the links, not what they point at); never follow one."""
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_symlink():
                os.unlink(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                _remove_symlinks(Path(entry.path))


def _plain_parents(out_dir: Path, rel: str, known: dict[Path, bool]) -> bool:
    """Whether every directory on the way to `rel` is a real directory, not a symlink or a file."""
    path = out_dir
    for part in rel.split("/")[:-1]:
        path = path / part
        if path not in known:
            known[path] = not path.is_symlink() and path.is_dir()
        if not known[path]:
            return False
    return True


def _target(out_dir: Path, rel: str) -> Path:
    """The output path of `rel`; never outside `out_dir`, never through a symlink."""
    parts = rel.split("/")
    if rel.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"bad output path {rel!r}")
    path = out_dir
    for part in parts[:-1]:
        path = path / part
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            path.unlink()
    return path / parts[-1]


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.is_symlink() or path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _remove_empty_parents(directory: Path, out_dir: Path) -> None:
    while directory != out_dir and directory.is_relative_to(out_dir):
        try:
            directory.rmdir()
        except OSError:
            return
        directory = directory.parent


def replace_subtree(out_dir: Path, name: str, new_dir: Path) -> None:
    """Make `out_dir/name` hold exactly what `new_dir` holds; `new_dir` is moved, not copied, when it can be.

    The new tree is first brought next to its target, then the old tree is renamed aside and
    the new one renamed into place, so a reader sees the old tree or the new one, except for
    the instant between two renames; the old tree is deleted last. Used for trees that
    another program produces (the Pagefind bundle), which the manifest does not list.
    """
    target = _subtree(out_dir, name)
    staged = out_dir / f".{name}{TEMP_SUFFIX}"
    old = out_dir / f".{name}.sitegen-old"
    for leftover in (staged, old):
        _remove_tree(leftover)
    shutil.move(str(new_dir), str(staged))
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        os.replace(target, old)
    os.replace(staged, target)
    _remove_tree(old)


def link_files(out_dir: Path, paths: list[str], name: str) -> Path:
    """A new directory `out_dir/.<name>.sitegen-tmp` holding `paths` of the output, hard-linked.

    For a program that must read only some of the written files (Pagefind reads the paper
    pages, not the term pages): the same relative paths, no copy. Files are copied where
    hard links are not supported. The caller removes it with `remove_links`; a killed build
    leaves it for the next write to remove.
    """
    staged = out_dir / f".{name}{TEMP_SUFFIX}"
    _remove_tree(staged)
    made: set[Path] = set()
    for rel in paths:
        if not _valid(rel):
            raise ValueError(f"bad output path {rel!r}")
        target = staged / rel
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        try:
            os.link(out_dir / rel, target, follow_symlinks=False)
        except OSError:
            shutil.copyfile(out_dir / rel, target, follow_symlinks=False)
    return staged


def remove_links(staged: Path) -> None:
    """Remove a directory made by `link_files`."""
    if staged.name.startswith(".") and staged.name.endswith(TEMP_SUFFIX):
        _remove_tree(staged)


def remove_subtree(out_dir: Path, name: str) -> bool:
    """Delete the tree `out_dir/name`; True if there was one."""
    target = _subtree(out_dir, name)
    existed = target.exists() or target.is_symlink()
    _remove_tree(target)
    return existed


def _subtree(out_dir: Path, name: str) -> Path:
    if not name or "/" in name or name.startswith(".") or name in ("..",):
        raise ValueError(f"bad subtree name {name!r}")
    return out_dir / name


def _remove_tree(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.exists():
        shutil.rmtree(path)
