"""Markdown for curator-written pages and notes: markdown-it-py with Pygments highlighting,
YAML front matter, and a warning for whatever cannot be shown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import yaml
from markdown_it import MarkdownIt
from markupsafe import escape
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from .diagnostics import Diagnostic

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


MAX_NESTING = 100
"""How deep lists, quotes and inline markup may nest (CommonMark's preset says 20: a list ten
levels deep lost the rest of the page). markdown-it drops what is deeper, and what follows it
in the same outer block; that is reported with its line."""


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # Raw HTML stays text: pages are Markdown, and escaping keeps them safe to publish.
    return MarkdownIt("commonmark", {"html": False, "highlight": _highlight, "typographer": False,
                                     "maxNesting": MAX_NESTING}).enable("table").enable("strikethrough")


@dataclass(frozen=True)
class Document:
    """A Markdown file, rendered."""

    html: str
    """The body as an HTML fragment."""
    title: str | None
    """The front matter's `title`, else the text of the first `# heading`, if any."""
    diagnostics: tuple[Diagnostic, ...]
    """What could not be shown or used, with its line."""


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(?P<yaml>(?:.*\n)*?)(?:---|\.\.\.)[ \t]*(?:\n|\Z)")
"""A YAML block at the very top, between two `---` lines (or `---` and `...`)."""


def render_document(text: str, shown: str, keys: frozenset[str]) -> Document:
    """Render Markdown `text` read from `shown`; its front matter may set `keys` (`title`).

    A front matter key not in `keys`, front matter that is not YAML `key: value` lines, and
    content nested deeper than `MAX_NESTING` are reported with their line.
    """
    problems: list[Diagnostic] = []
    meta: dict = {}
    offset = 0
    front = _FRONT_MATTER.match(text)
    if front:
        meta = _front_matter(front.group("yaml"), shown, keys, problems)
        offset = front.group().count("\n")
        text = text[front.end():]
    tokens = _parser().parse(text)
    for token in tokens:
        if token.nesting == 1 and token.level >= MAX_NESTING - 1 and token.map:
            problems.append(Diagnostic(shown, offset + token.map[0] + 1,
                                       f"nested more than {MAX_NESTING} levels deep (lists and quotes "
                                       "count): from this line on, the page is cut short. Nest it less deeply"))
            break
    heading = next((inline.content for opening, inline in zip(tokens, tokens[1:])
                    if opening.type == "heading_open" and opening.tag == "h1"), None)
    title = meta.get("title")
    return Document(_parser().renderer.render(tokens, _parser().options, {}),
                    title if isinstance(title, str) and title.strip() else heading, tuple(problems))


def _front_matter(source: str, shown: str, keys: frozenset[str], problems: list[Diagnostic]) -> dict:
    """The front matter's keys and values; what is wrong with it goes to `problems`."""
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        values = yaml.safe_load(source)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        problems.append(Diagnostic(shown, (mark.line + 2) if mark else 1,
                                   f"the front matter is not valid YAML ({getattr(error, 'problem', None) or error}); "
                                   "fix it, e.g. title: \"About this site\", or remove the --- block"))
        return {}
    except RecursionError:
        problems.append(Diagnostic(shown, 1, "the front matter nests too deeply to read; keep it to "
                                   "key: value lines, e.g. title: \"About this site\""))
        return {}
    if node is None:
        return {}
    if not isinstance(values, dict):
        problems.append(Diagnostic(shown, node.start_mark.line + 2, "the front matter must be key: value "
                                   "lines, e.g. title: \"About this site\""))
        return {}
    allowed = ", ".join(sorted(keys)) or "none"
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 2
        if key_node.value not in keys:
            problems.append(Diagnostic(shown, line, f"unknown front matter key {key_node.value!r} (keys read "
                                       f"here: {allowed}); remove it or check its spelling"))
        elif not isinstance(values.get(key_node.value), str):
            problems.append(Diagnostic(shown, line, f"front matter {key_node.value!r} must be text, "
                                       f"e.g. {key_node.value}: \"About this site\""))
    return {key: value for key, value in values.items() if key in keys and isinstance(value, str)}


def highlight_css() -> str:
    """The Pygments style sheet for code in `.prose` blocks, light and dark themes."""
    light = HtmlFormatter(style="friendly").get_style_defs(".prose pre")
    dark = HtmlFormatter(style="monokai").get_style_defs(":root[data-theme=dark] .prose pre")
    return f"{light}\n{dark}\n"


__all__ = ["render_document", "Document", "highlight_css", "escape"]
