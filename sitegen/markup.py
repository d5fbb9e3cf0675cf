"""Markdown for curator-written pages and notes: markdown-it-py with Pygments highlighting."""

from __future__ import annotations

from functools import lru_cache

from markdown_it import MarkdownIt
from markupsafe import escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=True)


def _highlight(code: str, lang: str, _attrs: str) -> str:
    """Pygments markup for a fenced block; plain escaped text for unknown languages."""
    try:
        lexer = get_lexer_by_name(lang) if lang else None
    except ClassNotFound:
        lexer = None
    if lexer is None:
        return ""  # markdown-it then escapes the code itself
    return highlight(code, lexer, _FORMATTER)


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Raw HTML stays text: pages are Markdown, and escaping keeps them safe to publish.
    return MarkdownIt("commonmark", {"html": False, "highlight": _highlight, "typographer": False}
                      ).enable("table").enable("strikethrough")


def render_markdown(text: str) -> str:
    """Markdown source -> HTML fragment."""
    return _parser().render(text)


def markdown_title(text: str) -> str | None:
    """The text of the first `# heading`, if any."""
    tokens = _parser().parse(text)
    for opening, inline in zip(tokens, tokens[1:]):
        if opening.type == "heading_open" and opening.tag == "h1":
            return inline.content
    return None


def highlight_css() -> str:
    """The Pygments style sheet for code in `.prose` blocks, light and dark themes."""
    light = HtmlFormatter(style="friendly").get_style_defs(".prose pre")
    dark = HtmlFormatter(style="monokai").get_style_defs(":root[data-theme=dark] .prose pre")
    return f"{light}\n{dark}\n"


__all__ = ["render_markdown", "markdown_title", "highlight_css", "escape"]
