"""Site settings from `sitegen.toml`, validated once and passed around explicitly."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from .diagnostics import BuildError

CONFIG_FILE = "sitegen.toml"
RULES_FILE = "content/rules.toml"
BASE_URL_EXAMPLE = "https://user.github.io/repo/"


@dataclass(frozen=True)
class ListingSettings:
    """Per-listing settings, keyed by file name in `[listings."name.txt"]`."""

    title: str | None = None
    """Shown instead of the file name."""
    year: int | None = None
    """The year of dates that carry none; inferred from the listing when unset."""


@dataclass(frozen=True)
class Config:
    """Validated settings of one site."""

    root: Path
    """The site's source directory (holds sitegen.toml and content/)."""
    title: str = "Paper listings"
    description: str = "Research papers, by topic and by the hardware they ran on."
    language: str = "en"
    base_url: str = ""
    """Absolute URL the site is served at, ending in `/`; empty when served at `/`."""
    listings: dict[str, ListingSettings] = field(default_factory=dict)

    @property
    def base_path(self) -> str:
        """The URL path every page lives under: `/` or `/repo/`."""
        return urlsplit(self.base_url).path if self.base_url else "/"

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def listings_dir(self) -> Path:
        return self.content_dir / "listings"

    @property
    def rules_file(self) -> Path:
        return self.root / RULES_FILE


_KNOWN = {"title", "description", "language", "base_url", "listings"}


def load_config(root: Path, base_url: str | None = None) -> Config:
    """Read `root/sitegen.toml` (optional) and apply a `--base-url` override."""
    if not root.is_dir():
        raise BuildError(str(root.absolute()), 0, "no such folder: --source names the site's folder, the one "
                         "that holds sitegen.toml and content/ (default: the current folder)")
    path = root / CONFIG_FILE
    data: dict = {}
    if path.is_file():
        text = path.read_bytes().decode("utf-8", errors="replace")
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            match = re.search(r"line (\d+)", str(error))
            raise BuildError(CONFIG_FILE, int(match[1]) if match else 0,
                             f"not valid TOML: {error}; fix the syntax") from None
    unknown = sorted(set(data) - _KNOWN)
    if unknown:
        raise BuildError(CONFIG_FILE, _line_of(path, unknown[0]),
                         f"unknown setting {unknown[0]!r}; known settings: {', '.join(sorted(_KNOWN))}")
    for key in ("title", "description", "language", "base_url"):
        if key in data and not isinstance(data[key], str):
            raise BuildError(CONFIG_FILE, _line_of(path, key), f"{key} must be a string in quotes")
    listings = {}
    for name, settings in data.get("listings", {}).items():
        line = _line_of(path, name)
        if not isinstance(settings, dict) or set(settings) - {"title", "year"}:
            raise BuildError(CONFIG_FILE, line, f'[listings."{name}"] takes only `title` and `year`')
        year = settings.get("year")
        if year is not None and (not isinstance(year, int) or not 1900 <= year <= 2200):
            raise BuildError(CONFIG_FILE, line, f"year of {name!r} must be a number such as 2025")
        listings[name] = ListingSettings(title=settings.get("title"), year=year)
    url = base_url if base_url is not None else data.get("base_url", "")
    where = "--base-url" if base_url is not None else f"{CONFIG_FILE}:{_line_of(path, 'base_url')}"
    return Config(
        root=root,
        title=data.get("title", Config.title),
        description=data.get("description", Config.description),
        language=data.get("language", Config.language),
        base_url=normalise_base_url(url, where),
        listings=listings,
    )


def normalise_base_url(url: str, where: str) -> str:
    """Check a base URL and make it end in `/`; empty stays empty (site served at `/`)."""
    if not url or url == "/":
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise BuildError(where, 0, f"base URL {url!r} is not an absolute http(s) URL; "
                         f"give the address the site is served at, for example {BASE_URL_EXAMPLE}")
    return url if url.endswith("/") else url + "/"


def _line_of(path: Path, key: str) -> int:
    """Best-effort line of `key` in the TOML file, for messages."""
    try:
        for number, line in enumerate(path.read_text(errors="replace").split("\n"), 1):
            if re.match(rf'\s*(\[\w+\.)?"?{re.escape(key)}"?\s*[=\]]', line):
                return number
    except OSError:
        pass
    return 0
