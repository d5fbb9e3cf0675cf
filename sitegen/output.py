"""The only writer: bring an output directory up to date with the rendered files.

Files whose bytes did not change are not touched; new and changed files are first
written next to their target and then renamed into place; files an earlier build
produced and this one did not are removed. A manifest marks the directory as
sitegen's own.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import BuildError

MANIFEST = ".sitegen-manifest"
TEMP_SUFFIX = ".sitegen-tmp"


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
    if out == Path.home().resolve() or out == Path(out.anchor):
        raise BuildError(str(out_dir), 0, "refusing to write into your home or root directory; "
                         "choose another --out, for example site/")
    if out_dir.is_symlink():
        raise BuildError(str(out_dir), 0, "the output directory is a symlink; give its real path")
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildError(str(out_dir), 0, "exists and is not a directory; remove it or choose another --out")
    if (out_dir.is_dir() and not (out_dir / MANIFEST).is_file() and any(out_dir.iterdir())
            and not force):
        raise BuildError(str(out_dir), 0, "is not empty and was not written by sitegen; "
                         "empty it, choose another --out, or pass --force to write into it anyway")


def read_manifest(out_dir: Path) -> set[str]:
    """Files the previous build wrote into `out_dir`."""
    try:
        return set(filter(None, (out_dir / MANIFEST).read_text("utf-8").split("\n")))
    except (OSError, UnicodeDecodeError):
        return set()


def write_site(out_dir: Path, files: dict[str, bytes], keep: tuple[str, ...] = ()) -> WriteReport:
    """Make `out_dir` hold exactly `files` (plus paths under the `keep` prefixes)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    previous = read_manifest(out_dir)
    staged: list[tuple[Path, Path]] = []
    written = []
    unchanged = 0
    try:
        for rel in sorted(files):
            data = files[rel]
            target = _target(out_dir, rel)
            if _same_bytes(target, data):
                unchanged += 1
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = target.with_name(target.name + TEMP_SUFFIX)
            temp.write_bytes(data)
            staged.append((temp, target))
            written.append(rel)
    except BaseException:
        for temp, _ in staged:
            temp.unlink(missing_ok=True)
        raise
    for temp, target in staged:
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        os.replace(temp, target)
    removed = []
    for rel in sorted(previous - set(files)):
        if rel.startswith(keep):
            continue
        path = out_dir / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
            removed.append(rel)
            _remove_empty_parents(path.parent, out_dir)
    manifest = "".join(f"{rel}\n" for rel in sorted(files)).encode()
    if not _same_bytes(out_dir / MANIFEST, manifest):
        (out_dir / MANIFEST).write_bytes(manifest)
    return WriteReport(tuple(written), unchanged, tuple(removed))


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
