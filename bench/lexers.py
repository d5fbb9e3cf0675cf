"""Which Pygments lexers are slow on code blocks that `sitegen.markup` would highlight.

    python -m bench.lexers [--seconds 0.5] [--only NAME ...]

Times every lexer (or `--only` these aliases) on adversarial blocks at the limits that
`sitegen.markup` highlights (lines of `CODE_LINE_MAX` and of 40 characters, blocks of
`CODE_BLOCK_MAX`): runs of one character, white space, punctuation, and an unclosed quote or
comment before many lines (some lexers' string rules are exponential in the lines after an
opening quote). Prints the lexers whose worst case takes more than `--seconds`, with the
input; those belong in `markup.SLOW_LEXERS`. Each case stops after 10 s (SIGALRM), so a
run takes a few minutes. A benchmark, run by hand after upgrading Pygments.
"""

from __future__ import annotations

import argparse
import signal
import time

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_all_lexers, get_lexer_by_name

from sitegen.markup import CODE_BLOCK_MAX, CODE_LINE_MAX, SLOW_LEXERS

CUTOFF = 10
OPENERS = ('"', "'", "`", '"""', "/*", "(*", "{-", "<!--", "#", "[", "{", "(", "<", "$", "\\")
LINES = {"letters": "a", "spaces": " ", "tabs": "\t", "digits": "1", "dots": ".", "backslashes": "\\",
         "punctuation": "=(-<", "words": "ab = cd "}


class _TooSlow(Exception):
    pass


def inputs() -> dict[str, str]:
    """Blocks of `CODE_BLOCK_MAX` characters that lexers find hard."""
    cases = {"newlines": "\n" * (CODE_BLOCK_MAX - 1)}
    for width in (CODE_LINE_MAX, 40):
        for name, unit in LINES.items():
            line = (unit * width)[: width - 1] + "\n"
            cases[f"{name}x{width}"] = line * (CODE_BLOCK_MAX // width)
        for opener in OPENERS:
            body = ("a" * (width - 1) + "\n") * ((CODE_BLOCK_MAX - len(opener)) // width)
            cases[f"{opener}+lettersx{width}"] = opener + body
    return cases


def worst(alias: str, cases: dict[str, str]) -> tuple[float, str]:
    """The longest time any case takes (up to `CUTOFF`), and that case."""
    formatter = HtmlFormatter(nowrap=True)
    result = (0.0, "")
    for name, code in cases.items():
        signal.alarm(CUTOFF)
        started = time.perf_counter()
        try:
            highlight(code, get_lexer_by_name(alias), formatter)
        except _TooSlow:
            pass
        finally:
            signal.alarm(0)
        result = max(result, (time.perf_counter() - started, name))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(_TooSlow()))
    cases = inputs()
    aliases = args.only or sorted(aliases[0] for _, aliases, _, _ in get_all_lexers() if aliases)
    slow = []
    for alias in aliases:
        seconds, case = worst(alias, cases)
        name = type(get_lexer_by_name(alias)).__name__
        if seconds > args.seconds or args.only:
            slow.append((seconds, alias, name, case))
    print(f"{len(aliases)} lexers, blocks of {CODE_BLOCK_MAX} characters, lines up to {CODE_LINE_MAX}")
    for seconds, alias, name, case in sorted(slow, reverse=True):
        listed = "listed" if name in SLOW_LEXERS else "NOT LISTED"
        print(f"{seconds:7.3f} s  {alias:16} {name:28} {case!r:24} {listed}")


if __name__ == "__main__":
    main()
