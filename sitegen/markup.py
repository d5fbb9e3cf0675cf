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

CODE_LINE_MAX = 200
"""Longest line (characters) of a block that is highlighted: many lexers are quadratic in a
line's length (Pygments' `terraform` took 23 s on one line of 20,000 characters)."""
CODE_BLOCK_MAX = 10_000
"""Longest block (characters) that is highlighted: some lexers are quadratic across lines.
With both limits, the work per block is bounded and the work per page linear in its size."""
SLOW_LEXERS = frozenset({
    "AutoItLexer", "AutohotkeyLexer", "EasytrieveLexer", "FantomLexer", "GherkinLexer", "IdrisLexer",
    "MCSchemaLexer", "MozPreprocCssLexer", "SASLexer", "SmithyLexer", "SystemdLexer", "UcodeLexer",
    "XppLexer",
})
"""Lexers that still took over 1.5 s on some block within the limits (exponential or cubic in
the lines after an opening quote or in runs of white space; Pygments 2.21, measured with
`python -m bench.lexers`): their blocks are shown as plain text."""


def _highlight(code: str, lang: str, _attrs: str) -> str:
    """Pygments markup for a fenced block; plain escaped text for unknown languages and for
    blocks past the limits above, so that no block can make the build slow."""
    if not lang or len(code) > CODE_BLOCK_MAX or _longest_line(code) > CODE_LINE_MAX:
        return ""  # markdown-it then escapes the code itself
    try:
        lexer = get_lexer_by_name(lang)
    except ClassNotFound:
        return ""
    if type(lexer).__name__ in SLOW_LEXERS:
        return ""
    return highlight(code, lexer, _FORMATTER)


def _longest_line(code: str) -> int:
    return max(map(len, code.split("\n")))


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
