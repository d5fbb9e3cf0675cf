"""Curator-written Markdown: pages (`content/pages/*.md`) and paper notes (`content/notes/<slug>.md`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .diagnostics import BuildError, Diagnostic
from .markup import render_document
from .papers import slugify


@dataclass(frozen=True)
class Page:
    """A standalone page such as About."""

    slug: str
    """URL segment: the page is served at `<slug>/`."""
    title: str
    html: str
    """The rendered Markdown body."""
    source: str
    """Path relative to the site root."""


_JUNK = re.compile(r"""
    ^\.                             # hidden: vim .x.swp, emacs .#x lock, .DS_Store (the build skips them)
  | ~$ | ^\#.*\#$                   # backup x~, emacs auto-save #x#
  | \.(swp|swo|swx|swpx|kate-swp|sitegen-tmp)$
  | ___jb_(tmp|old)___$ | ^4913$    # JetBrains safe-write, vim's write test
""", re.VERBOSE)


def is_junk(name: str) -> bool:
    """Editor swap, backup and lock files: saving them is not a change to rebuild for."""
    return bool(_JUNK.search(name))


RESERVED_SLUGS = frozenset({"papers", "topics", "hardware", "listings", "search", "static",
                            "pagefind", "feed", "feeds"})


PAGE_KEYS = frozenset({"title"})
"""Front matter keys a page reads; a note reads none."""


def read_pages(pages_dir: Path, root: Path) -> tuple[list[Page], list[Diagnostic]]:
    """Every `*.md` under `pages_dir`, sorted by file name, and warnings about them.

    A page's title is its front matter's `title`, else its first `# heading`, else its name.
    """
    pages, warnings = [], []
    for file in sorted(pages_dir.glob("*.md")) if pages_dir.is_dir() else []:
        shown = file.relative_to(root).as_posix()
        document = render_document(_read_text(file, shown), shown, PAGE_KEYS)
        slug = slugify(file.stem)
        if not slug or slug in RESERVED_SLUGS:
            raise BuildError(shown, 0, f"page name {file.stem!r} is taken by the site itself; rename the file")
        pages.append(Page(slug, document.title or file.stem.replace("-", " ").title(), document.html, shown))
        warnings += document.diagnostics
    return pages, warnings


def read_notes(notes_dir: Path, root: Path, paper_slugs: set[str]) -> tuple[dict[str, str], list[Diagnostic]]:
    """Notes by paper slug, rendered; a note for no known paper is a warning."""
    notes: dict[str, str] = {}
    warnings = []
    for file in sorted(notes_dir.glob("*.md")) if notes_dir.is_dir() else []:
        shown = file.relative_to(root).as_posix()
        if file.stem not in paper_slugs:
            warnings.append(Diagnostic(shown, 0, f"no paper has the slug {file.stem!r}; name the note "
                                       "after the paper's URL, e.g. content/notes/<slug>.md"))
            continue
        document = render_document(_read_text(file, shown), shown, frozenset())
        notes[file.stem] = document.html
        warnings += document.diagnostics
    return notes, warnings


def _read_text(file: Path, shown: str) -> str:
    data = file.read_bytes()
    try:
        return data.decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise BuildError(shown, line, "not valid UTF-8; save the file as UTF-8") from None
