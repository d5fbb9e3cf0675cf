"""The only writer: bring an output directory up to date with the rendered files.

Files whose bytes did not change are not touched; new and changed files are first
written in full into a staging directory inside the output and then renamed into place;
files an earlier build produced and this one did not are removed. A manifest marks the
directory as sitegen's own: it lists the files sitegen wrote and the folders it made, and
nothing else is ever removed (a folder given with `--force` keeps what it held).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import BuildError

MANIFEST = ".sitegen-manifest"
STATE = ".sitegen-state"
"""What the last complete build was made from (see `build.py`); removed when a write begins."""
TEMP_SUFFIX = ".sitegen-tmp"
STAGING = ".sitegen-tmp"
"""Directory in the output where a write stages new files; removed when the write ends
(or, after a write that was killed, when the next one starts)."""
_LEFTOVER_SUFFIXES = (TEMP_SUFFIX, ".sitegen-old")
OWN_ROOT = "."
"""The output directory itself among the folders sitegen made (`SiteWriter.owned`); `./` in the manifest."""
SYSTEM_DIRS = frozenset(
    ["/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/media", "/mnt", "/opt",
     "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var"]
    + [f"/usr/{name}" for name in ("bin", "include", "lib", "lib32", "lib64", "libexec", "local", "sbin", "share",
                                   "src")]
    + [f"/usr/local/{name}" for name in ("bin", "etc", "include", "lib", "sbin", "share", "src")]
    + [f"/var/{name}" for name in ("backups", "cache", "lib", "local", "log", "mail", "opt", "spool", "tmp")])
"""Directories of the operating system that `--force` must not write into (their subfolders, such as
`/var/www/html`, may be web roots)."""
_DISK_PROBLEMS = {
    errno.ENOSPC: ("no space left on the device", "free some space there"),
    errno.EDQUOT: ("the disk quota is used up", "free some space there or raise the quota"),
    errno.EROFS: ("the file system is read-only", "remount it read-write"),
    errno.EACCES: ("permission denied", "make the directory writable for this user"),
    errno.EPERM: ("operation not permitted", "make the directory writable for this user"),
}
"""What a full, read-only or forbidden disk is called in a message, and the first way out."""


@contextlib.contextmanager
def disk_errors(path: str | os.PathLike, fix: str = "choose another --out") -> Iterator[None]:
    """Raise a full, read-only or forbidden disk met meanwhile as one line about `path`:
    `path: what went wrong; what to do` (a BuildError); `fix` is the way out besides mending the disk."""
    try:
        yield
    except OSError as error:
        if error.errno not in _DISK_PROBLEMS:
            raise
        problem, mend = _DISK_PROBLEMS[error.errno]
        raise BuildError(os.fsdecode(path), 0, f"{problem}; {mend}, or {fix}, and build again") from None


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
    if out.parent == out or out.as_posix() in SYSTEM_DIRS:
        raise BuildError(str(out_dir), 0, "is a system directory; sitegen writes its site into a directory "
                         "of its own: choose another --out, for example site/ or /var/www/mysite")
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
    return _read_manifest(out_dir)[0]


def _read_manifest(out_dir: Path) -> tuple[set[str], set[str]]:
    """The files the manifest lists, and the folders (`dir/`, `./`: the output itself) that sitegen made.

    A manifest from before sitegen recorded its folders lists none: nothing is taken for its own.
    """
    try:
        lines = (out_dir / MANIFEST).read_text("utf-8").split("\n")
    except (OSError, UnicodeDecodeError):
        return set(), set()
    folders = {line[:-1] for line in lines if line.endswith("/") and (line == "./" or _valid(line[:-1]))}
    return set(filter(_valid, lines)), folders


def write_site(out_dir: Path, files: dict[str, bytes], keep: tuple[str, ...] = ()) -> WriteReport:
    """Make `out_dir` hold exactly `files` (plus paths under the `keep` prefixes)."""
    with SiteWriter(out_dir) as writer:
        for rel in sorted(files):
            writer.add(rel, files[rel])
        return writer.commit(keep)


class SiteWriter:
    """One build's write of `out_dir`: files are staged as they are rendered, then put in place together.

    `add()` compares a file with the one on disk and, when its bytes are new or changed, writes
    it in full under `STAGING`, at its own path there, so the rendered site need not be held in
    memory. The render workers stage their pages themselves (`stage()`, in their process) and
    the writer counts them (`added()`). Until `commit()` the tree is not touched; leaving the
    `with` block without committing (a failed render, a strict-mode warning, Ctrl-C) removes
    what was staged. `commit()` extends the manifest by every path about to appear (so that an
    interrupted write leaves a directory the next build recognises and cleans up), removes
    the symlinks in the folders sitegen made (the writer never writes or deletes through one, and
    a published tree holds none; elsewhere, as in a `tidy=False` commit, only those in its way),
    renames the staged files into place (each file holds its old bytes or its new ones, never
    part of them; a staged directory that the output lacks is renamed whole, and noted as made
    by sitegen), removes stale files (only those its manifest lists) and rewrites the manifest.
    """

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self._out = os.fspath(out_dir)
        previous, owned = _read_manifest(out_dir)
        self.previous = frozenset(previous)
        """The files the last build wrote (its manifest)."""
        self._new_dir = not out_dir.is_dir()
        """Whether this write makes the output directory (a failed one removes it again)."""
        if not self._new_dir:
            with disk_errors(out_dir):
                _remove_leftovers(out_dir)
        if self._new_dir or not (previous or owned or os.listdir(out_dir)):
            owned = {OWN_ROOT}  # new, or empty: whatever is in it later is sitegen's, or planted
        self.owned = frozenset(owned)
        """The folders that sitegen made (`OWN_ROOT`: the output itself), all they hold being its own:
        symlinks are removed there, and folders left empty."""
        self._staging = os.path.join(self._out, STAGING)
        """Where new and changed files wait for `commit()`, each at its own path."""
        self._staged: set[str] = set()
        """Output paths of the new and changed files."""
        self.paths: set[str] = set()
        """Every output path added."""
        self._unchanged = 0
        self._plain_dirs: dict[str, bool] = {}
        self._made: set[str] = set()
        """Directories made under `STAGING`."""
        self._committed = False

    def __enter__(self) -> SiteWriter:
        return self

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self._staging, ignore_errors=True)  # a disk that failed the write may fail this too
        if self._new_dir and not self._committed:
            with contextlib.suppress(OSError):
                self.out_dir.rmdir()

    def add(self, rel: str, data: bytes) -> None:
        """Stage `data` as the output file `rel` unless the file on disk already holds it."""
        self.added(rel, self.stage(rel, data))

    def stage(self, rel: str, data: bytes) -> bool:
        """Write `data` under `STAGING` as `rel` unless the file on disk already holds it; whether it did.

        It changes nothing but the staging directory, so forked workers call it for the pages
        they render (their bytes need not come back); `added()` then counts the file, here.
        """
        _check_path(rel)
        if not self._new_dir and self._plain_parents(rel) and _same_bytes(os.path.join(self._out, rel), data):
            return False
        temp = os.path.join(self._staging, rel)
        directory = os.path.dirname(temp)
        with disk_errors(os.path.join(self._out, rel)):
            if directory not in self._made:
                os.makedirs(directory, exist_ok=True)
                self._made.add(directory)
            with open(temp, "wb") as file:
                file.write(data)
        return True

    def added(self, rel: str, staged: bool) -> None:
        """Count the file `rel` as produced: staged by `stage()`, or unchanged on disk."""
        _check_path(rel)
        if rel in self.paths:
            raise ValueError(f"repeated output path {rel!r}")
        self.paths.add(rel)
        if staged:
            self._staged.add(rel)
        else:
            self._unchanged += 1

    def keep(self, rel: str) -> None:
        """Count the file `rel` as produced and unchanged: the caller knows the file on disk is right."""
        self.added(rel, False)

    def commit(self, keep: tuple[str, ...] = (), *, tidy: bool = True, prune: bool = True) -> WriteReport:
        """Put the staged files in place and remove stale ones (but none under the `keep` prefixes).

        Without `tidy`, symlinks that the write does not meet are left (a walk of the whole tree,
        0.1 s at 10,000 papers: the preview's quick builds skip it, the exact build after does it).
        Without `prune`, no file is stale: the write was of some files only, and the others stay.
        """
        with disk_errors(self.out_dir):
            return self._commit(keep, tidy, prune)

    def _commit(self, keep: tuple[str, ...], tidy: bool, prune: bool) -> WriteReport:
        out_dir, staged = self.out_dir, sorted(self._staged)
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / STATE).unlink(missing_ok=True)  # written again once the build is complete
        owned = set(self.owned)
        if staged:
            _write_manifest(out_dir, self.previous | self.paths, owned)
        if tidy:
            for folder in _outermost(owned):
                if folder == OWN_ROOT:
                    _remove_symlinks(out_dir, skip=STAGING)
                elif _is_real_path(self._out, folder):
                    _remove_symlinks(os.path.join(self._out, folder))
        if staged:
            made: list[str] = []
            _move_into(self._staging, self._out, made)
            owned.update(os.path.relpath(path, self._out).replace(os.sep, "/") for path in made)
        _remove_tree(Path(self._staging))
        removed = []
        for rel in sorted(self.previous - self.paths) if prune else ():
            if rel.startswith(keep):
                continue
            path = out_dir / rel
            if self._plain_parents(rel) and (path.is_file() or path.is_symlink()):  # never through a symlink
                path.unlink()
                removed.append(rel)
                _remove_empty_parents(rel, out_dir, owned)
        owned = {folder for folder in _outermost(owned) if folder == OWN_ROOT or _is_real_path(self._out, folder)}
        _write_manifest(out_dir, self.paths if prune else self.previous | self.paths, owned)
        self._committed = True
        return WriteReport(tuple(staged), self._unchanged, tuple(removed))

    def _plain_parents(self, rel: str) -> bool:
        """Whether every directory on the way to `rel` is a real directory, not a symlink or a file."""
        known, path = self._plain_dirs, self._out
        for part in rel.split("/")[:-1]:
            path = path + "/" + part
            plain = known.get(path)
            if plain is None:
                plain = known[path] = _is_real_dir(path)
            if not plain:
                return False
        return True


def _move_into(staged_dir: str, target_dir: str, made: list[str]) -> None:
    """Rename what `staged_dir` holds into `target_dir`: a directory the target lacks whole (its
    path appended to `made`), else file by file.

    Whatever is in the way (a file or symlink where a directory goes, a directory where a file
    goes) is removed; nothing is written through a symlink.
    """
    with os.scandir(staged_dir) as entries:
        for entry in entries:
            target = os.path.join(target_dir, entry.name)
            if entry.is_dir(follow_symlinks=False):
                if _is_real_dir(target):
                    _move_into(entry.path, target, made)
                    continue
                made.append(target)
                if os.path.lexists(target):
                    os.unlink(target)
            elif _is_real_dir(target):
                shutil.rmtree(target)
            os.replace(entry.path, target)


def read_state(out_dir: Path, name: str = STATE) -> dict | None:
    """What `write_state` recorded in the bookkeeping file `name` of `out_dir`, if anything."""
    try:
        return json.loads((out_dir / name).read_text("utf-8"))
    except (OSError, ValueError):
        return None


def write_state(out_dir: Path, state: dict, name: str = STATE) -> None:
    """Record `state` as the hidden bookkeeping file `name` (`.x` or `dir/.x`) of `out_dir`.

    Atomically, never through a symlink; `<`, `>` and `&` escaped so that no markup is anywhere.
    """
    if not _valid(name) or not name.rsplit("/", 1)[-1].startswith(".sitegen-"):
        raise ValueError(f"bad bookkeeping file {name!r}")
    path = out_dir / name
    if path.parent.is_symlink() or not path.parent.is_dir():
        raise ValueError(f"no directory for {name!r}")
    text = json.dumps(state, sort_keys=True)
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    data = (text + "\n").encode("utf-8")
    with disk_errors(path):
        _replace_file(path, data)


def all_present(out_dir: Path) -> bool:
    """Whether every file the manifest lists is in `out_dir` as a regular file."""
    paths = read_manifest(out_dir)
    return bool(paths) and all(file_info(out_dir, rel) is not None for rel in paths)


def file_info(out_dir: Path, rel: str) -> tuple[int, int, int] | None:
    """(size, mtime_ns, inode) of the output file `rel`, None if there is no such regular file.

    Recorded after a write and compared before the next, it tells whether anyone else changed the file.
    """
    try:
        info = os.lstat(os.path.join(out_dir, rel))
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns, info.st_ino) if stat.S_ISREG(info.st_mode) else None


def _check_path(rel: str) -> None:
    """Refuse an output path that would leave the output or land on the writer's own files."""
    if not _valid(rel) or rel.split("/", 1)[0] in (STAGING, MANIFEST):
        raise ValueError(f"bad output path {rel!r}")


def _valid(rel: str) -> bool:
    """A relative `/`-separated path that stays inside the directory it is joined to."""
    return bool(rel) and not rel.startswith("/") and "\\" not in rel and "\0" not in rel and all(
        part not in ("", ".", "..") for part in rel.split("/"))


def _write_manifest(out_dir: Path, paths: set[str], owned: set[str]) -> None:
    """Replace the manifest atomically (never through a symlink), unless it already says this: the
    files `paths`, and the folders sitegen made, `owned`, each as `dir/`."""
    manifest = "".join(f"{rel}\n" for rel in sorted([*paths, *(f"{folder}/" for folder in owned)])).encode()
    _replace_file(out_dir / MANIFEST, manifest)


def _replace_file(path: Path, data: bytes) -> None:
    """Make `path` hold `data` (unless it does): written beside it, then renamed over it, never
    through a symlink; the file beside it is removed if that fails."""
    if _same_bytes(path, data):
        return
    temp = path.with_name(path.name + TEMP_SUFFIX)
    with _removed_if_failed(temp):
        temp.unlink(missing_ok=True)
        temp.write_bytes(data)
        os.replace(temp, path)


@contextlib.contextmanager
def _removed_if_failed(path: Path) -> Iterator[None]:
    """Remove the file or tree `path` if what runs meanwhile fails: on a full disk, it would keep it full."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            _remove_tree(path)
        raise


def _is_leftover(name: str) -> bool:
    """A top-level name that only a killed write or index swap leaves behind."""
    return name.startswith(".") and name.endswith(_LEFTOVER_SUFFIXES)


def _remove_leftovers(out_dir: Path) -> None:
    """Remove what a killed write or index swap left: `.sitegen-tmp`, `.<name>.sitegen-tmp`, `.<name>.sitegen-old`."""
    for entry in os.scandir(out_dir):
        if _is_leftover(entry.name):
            _remove_tree(Path(entry.path))


def _remove_symlinks(directory: str | Path, skip: str = "") -> None:
    """Unlink every symlink under `directory` (the links, not what they point at); never follow one.

    The entry `skip` of `directory` is left as it is.
    """
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.name == skip:
                continue
            if entry.is_symlink():
                os.unlink(entry.path)
            elif entry.is_dir(follow_symlinks=False):
                _remove_symlinks(entry.path)  # a str: a Path per directory was a third of the walk


def _is_real_path(out: str, folder: str) -> bool:
    """Whether `out/folder` and every directory on the way to it are real directories, not symlinks."""
    path = out
    for part in folder.split("/"):
        path = os.path.join(path, part)
        if not _is_real_dir(path):
            return False
    return True


def _is_real_dir(path: str) -> bool:
    """A directory, not a symlink to one."""
    try:
        return stat.S_ISDIR(os.lstat(path).st_mode)
    except OSError:
        return False


def _same_bytes(path: str | Path, data: bytes) -> bool:
    """Whether `path` is a regular file (not a symlink) holding exactly `data`."""
    try:
        info = os.lstat(path)
        if not stat.S_ISREG(info.st_mode) or info.st_size != len(data):
            return False
        with open(path, "rb") as file:
            return file.read() == data
    except OSError:
        return False


def _outermost(folders: set[str]) -> list[str]:
    """The `folders` that are not inside another of them (`OWN_ROOT` holds every one)."""
    if OWN_ROOT in folders:
        return [OWN_ROOT]
    return [folder for folder in sorted(folders)
            if not any(folder.startswith(other + "/") for other in folders)]


def _remove_empty_parents(rel: str, out_dir: Path, owned: set[str]) -> None:
    """Remove the folders on the way to the removed file `rel` that are left empty, if sitegen made them."""
    parts = rel.split("/")[:-1]
    while parts and any(folder == OWN_ROOT or ("/".join(parts) + "/").startswith(folder + "/")
                        for folder in owned):
        try:
            (out_dir / "/".join(parts)).rmdir()
        except OSError:
            return
        parts.pop()


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
    with disk_errors(target):
        with _removed_if_failed(staged):
            for leftover in (staged, old):
                _remove_tree(leftover)
            _move_tree(str(new_dir), str(staged))
            if target.is_symlink() or target.is_file():
                target.unlink()
            elif target.exists():
                os.replace(target, old)
            os.replace(staged, target)
        _remove_tree(old)


def _move_tree(source: str, target: str) -> None:
    """Rename the directory `source` to `target`, or on another file system copy it there, stopping
    at the first error, and remove it."""
    try:
        os.rename(source, target)
        return
    except OSError as error:
        if error.errno != errno.EXDEV:
            raise
    _copy_tree(source, target)
    shutil.rmtree(source)


def _copy_tree(source: str, target: str) -> None:
    os.mkdir(target)
    with os.scandir(source) as entries:
        for entry in entries:
            copy = os.path.join(target, entry.name)
            if entry.is_dir(follow_symlinks=False):
                _copy_tree(entry.path, copy)
            else:
                shutil.copyfile(entry.path, copy, follow_symlinks=False)


def link_files(out_dir: Path, paths: list[str], name: str) -> Path:
    """A new directory `out_dir/.<name>.sitegen-tmp` holding `paths` of the output, hard-linked.

    For a program that must read only some of the written files (Pagefind reads the paper
    pages, not the term pages): the same relative paths, no copy. Files are copied where
    hard links are not supported. The caller removes it with `remove_links`; a killed build
    leaves it for the next write to remove.
    """
    staged = out_dir / f".{name}{TEMP_SUFFIX}"
    made: set[Path] = set()
    with disk_errors(staged), _removed_if_failed(staged):
        _remove_tree(staged)
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
    with disk_errors(target):
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
