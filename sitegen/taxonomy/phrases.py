"""Phrases of the rules, compiled: what a term's `match`, `ambiguous`, `context` and `exclude` find.

A phrase matches whole words (never inside a longer word or number, so `L40` does not match
`L40S` and `H20` does not match `H200`), with an optional space or hyphen between its words
(`RTX 5090`, `RTX5090`, `RTX-5090`) and an optional plural `s` in lower case (`H100s`). A number
glued to the front by a lost `\\times` (`4timesRTX 3090`, `8xH100`) still counts as a word
boundary. Case is ignored, except in words written as acronyms or in mixed case (`ZeRO`, `MoE`,
`NAS`, `LoRA`, `iPhone`): those match only as written, so `ZeRO` is not `zero-shot`.

Speed: a text is cut into a set of lower-case words once; a phrase's regex runs only on texts
holding one of its trigger words (every match makes one), and is compiled the first time it runs.
"""

from __future__ import annotations

import re
import string
from re import _constants as sre_constants, _parser as sre_parse  # to read a regex's literals
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache

from .terms import Term

ALNUM = frozenset(string.ascii_letters + string.digits)
_GLUE = re.compile(r"[0-9]+(?:x|times)", re.IGNORECASE)
"""A number glued to the next word by a lost `\\times` or an `x`: `4timesRTX`, `8xH100`."""
_GLUE_BYTES = re.compile(rb"[0-9]+(?:x|times)(?=[a-z0-9])")
_GLUE_ANYWHERE = re.compile(rb"[0-9](?:x|times)[a-z0-9]")
_NOT_ALNUM = bytes(b if chr(b) in string.ascii_lowercase + string.digits or b == 1 else 32 for b in range(256))
"""Byte table: lower-case letters and digits stay, the rest becomes a space (\\x01 separates texts)."""


@dataclass(frozen=True)
class Phrase:
    """One `match` or `ambiguous` phrase; its regex is compiled when first used."""

    text: str
    ambiguous: bool
    capital_s: bool
    """The phrase ends in a capital S (`L40S`): a lower-case `s` there is a plural (`L40s`)."""
    triggers: tuple[frozenset[bytes], ...]
    """For each word of the phrase, the text words a match makes of it; any one set will do."""

    @cached_property
    def pattern(self) -> re.Pattern:
        return compile_phrases((self.text,))

    @cached_property
    def lower_pattern(self) -> re.Pattern | None:
        """The pattern for the lower-cased text, when no word must match as written: a
        case-sensitive search is about ten times faster than `(?i:...)`."""
        parts = words(self.text)
        if any(as_written(word) for word in parts):
            return None
        return re.compile(r"[\s\-~]?".join(re.escape(word.lower()) for word in parts))


@dataclass(frozen=True)
class Matcher:
    """Compiled rules of one term."""

    term: Term
    phrases: tuple[Phrase, ...]
    context: re.Pattern | None = None
    """With `ambiguous` phrases: one of these must be in the same sentence."""
    exclude: re.Pattern | None = None
    regex: re.Pattern | None = None
    specific: re.Pattern | None = None
    """Finds the models of a family by their pattern: each match's first group names one."""
    specific_name: str = ""
    """The name of such a model, `{}` standing for the group: `Intel Core {}`."""


def phrase(text: str, ambiguous: bool = False) -> Phrase:
    return Phrase(text, ambiguous, text.rstrip().endswith("S"), triggers(text))


def words(text: str) -> list[str]:
    """The words of a phrase: split at white space and hyphens."""
    return [w for w in re.split(r"[\s\-]+", text.strip()) if w]


def runs(word: str) -> list[str]:
    """The runs of lower-case letters and digits in `word`."""
    return re.findall(r"[a-z0-9]+", word.lower())


def as_written(word: str) -> bool:
    """Whether a word matches only as written: an acronym (`NAS`, `GAN`) or mixed case (`ZeRO`, `iPhone`)."""
    letters = [c for c in word if c.isalpha()]
    if not any(c.isupper() for c in word[1:]):
        return False
    return any(c.islower() for c in letters) or (len(letters) <= 4 and not any(c.isdigit() for c in word))


def _word_pattern(word: str) -> str:
    body = re.escape(word)
    return body if as_written(word) else f"(?i:{body})"


@lru_cache(maxsize=None)
def compile_phrases(phrases: tuple[str, ...]) -> re.Pattern | None:
    """One regex for some phrases, longest first; word boundaries are checked by `spans`."""
    if not phrases:
        return None
    # Longest phrase first: an alternation takes the first that matches, so `Mac` before
    # `MacBook` would find `Mac` in `MacBook`, which `spans` then refuses.
    bodies = {r"[\s\-~]?".join(map(_word_pattern, words(p))): len(p) for p in phrases}
    return re.compile("|".join(sorted(bodies, key=lambda body: (-bodies[body], body))))


def triggers(text: str) -> tuple[frozenset[bytes], ...]:
    """For each alphanumeric run of a phrase, the words of a matching text that contain it.

    A match starts and ends at word boundaries, and the phrase's punctuation splits words, but
    an optional separator left out joins runs (`rtx 5090` -> `rtx5090`) and the last run may take
    a plural `s`. So every match puts one word of each of these sets into the text's word set.
    """
    found: list[tuple[str, bool]] = []  # (run, may touch the run before: separator left out)
    ends_in_run = False
    for word in words(text.lower()):
        pieces = re.split(r"([a-z0-9]+)", word)  # text, run, text, ..., run, text
        for j in range(1, len(pieces), 2):
            found.append((pieces[j], j == 1 and pieces[0] == "" and ends_in_run))
        ends_in_run = pieces[-1] == ""
    options = []
    for k in range(len(found)):
        first = k
        while first > 0 and found[first][1]:
            first -= 1
        last = k
        while last + 1 < len(found) and found[last + 1][1]:
            last += 1
        joined = set()
        for i in range(first, k + 1):
            for j in range(k, last + 1):
                word = "".join(run for run, _ in found[i:j + 1])
                joined.add(word.encode())
                if j == len(found) - 1:
                    joined.add((word + "s").encode())
        options.append(frozenset(joined))
    return tuple(options)


def word_sets(lows: list[str]) -> Iterator[set[bytes]]:
    """The words (ASCII letter and digit runs) of each lower-cased text, also without a glued
    number (`4timesrtx` -> `rtx`)."""
    joined = "\x01".join(lows)
    if joined.count("\x01") != len(lows) - 1:  # a text holds the separator itself
        joined = "\x01".join(low.replace("\x01", " ") for low in lows)
    for chunk in joined.encode("utf-8", "replace").translate(_NOT_ALNUM).split(b"\x01"):
        found = set(chunk.split())
        if _GLUE_ANYWHERE.search(chunk):
            for word in [w for w in found if w[:1].isdigit()]:
                glued = _GLUE_BYTES.match(word)
                if glued:
                    found.add(word[glued.end():])
        yield found


def spans(pattern: re.Pattern, text: str, lo: int = 0, hi: int | None = None,
          capital_s: bool = False, scan: str | None = None) -> list[tuple[int, int]]:
    """Matches of a phrase pattern in `text[lo:hi]` that start and end at word boundaries;
    searched in `scan` when given (the text lower-cased, of the same length)."""
    hi = len(text) if hi is None else hi
    scan = text if scan is None else scan
    found = []
    position = lo
    while (m := pattern.search(scan, position, hi)) is not None:
        start, end = m.span()
        position = start + 1  # a match refused here may hide one that starts inside it
        if capital_s and text[end - 1] == "s":
            continue  # `L40s` are L40s, not an L40S
        if end < hi:
            if text[end] == "s" and (end + 1 >= hi or text[end + 1] not in ALNUM):
                end += 1  # plural: `H100s`, but `L40S` is another GPU
            if end < hi and text[end] in ALNUM:
                continue
        if start > 0 and text[start - 1] in ALNUM:
            word_start = start
            while word_start > 0 and text[word_start - 1] in ALNUM:
                word_start -= 1
            if not _GLUE.fullmatch(text, word_start, start):
                continue
        found.append((start, end))
        position = max(end, start + 1)
    return found


def required_text(pattern: re.Pattern) -> frozenset[str] | None:
    """Lower-case strings of which every match of `pattern` holds one (`i3` for
    `\\b(?:Core\\s?)?(i3[\\s-]\\d{4})`), or None when it cannot tell: a text without any of
    them needs no search."""
    try:
        return _required(sre_parse.parse(pattern.pattern, pattern.flags))
    except Exception:  # a construct the reader does not know: search every text
        return None


def _required(items) -> frozenset[str] | None:
    """`required_text` of a parsed sequence: its longest literal run, else the best of the
    groups and alternations it must match."""
    best: frozenset[str] | None = None
    run: list[str] = []

    def keep(found: frozenset[str] | None) -> None:
        nonlocal best
        if found and all(len(text) >= 2 for text in found) and (
                best is None or min(map(len, found)) > min(map(len, best))):
            best = found

    for op, av in list(items) + [(None, None)]:
        if op is sre_constants.LITERAL:
            run.append(chr(av).lower())
            continue
        keep(frozenset({"".join(run)}) if run else None)
        run = []
        if op is sre_constants.SUBPATTERN:
            keep(_required(av[-1]))
        elif op is sre_constants.BRANCH:
            branches = [_required(branch) for branch in av[1]]
            keep(None if any(b is None for b in branches) else frozenset().union(*branches))
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and av[0] >= 1:
            keep(_required(av[2]))
    return best
