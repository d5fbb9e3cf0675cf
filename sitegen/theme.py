"""The theme: where templates and static files come from, the site's own before the default's."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .content import is_junk

PACKAGE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Theme:
    """Where templates and static files come from; earlier directories override later ones."""

    template_dirs: tuple[Path, ...]
    static_dirs: tuple[Path, ...]


def default_theme_dir() -> Path:
    """The default theme: bundled in the wheel (`sitegen/theme/`) or the checkout's root."""
    bundled = PACKAGE_DIR / "theme"
    return bundled if (bundled / "templates").is_dir() else PACKAGE_DIR.parent


def site_theme(root: Path) -> Theme:
    """The site's own `templates/` and `static/` first, then the default theme."""
    default = default_theme_dir()
    dirs = [root] if root.resolve() != default.resolve() else []
    dirs.append(default)
    return Theme(tuple(d / "templates" for d in dirs if (d / "templates").is_dir()),
                 tuple(d / "static" for d in dirs if (d / "static").is_dir()))


def asset_versions(theme: Theme) -> dict[str, bytes]:
    """Static files by output path (`static/...`), the site's overriding the theme's."""
    files: dict[str, bytes] = {}
    for static_dir in reversed(theme.static_dirs):
        for file in sorted(static_dir.rglob("*")):
            if file.is_file() and not is_junk(file.name):
                files["static/" + file.relative_to(static_dir).as_posix()] = file.read_bytes()
    return files
