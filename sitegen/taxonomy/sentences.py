"""Sentences of an abstract, for the evidence quoted beside each hardware mention."""

from __future__ import annotations

import re
from bisect import bisect_right

_SENTENCE_END = re.compile(
    r"[.!?][\"')\]]*(?:\s+(?=[\"'(\[]?[A-Z0-9])|(?=[A-Z][a-z]{2,}\s))")
"""A stop, then white space and a capital or digit; or a stop glued to a capitalised word
(`...on GPUs.We propose`), which copies from PDFs often have."""
_NOT_AN_END = re.compile(
    r"(?:^|[\s(\[])(?:(?i:e\.g|i\.e|vs|cf|al|figs?|eqs?|sec|approx|resp|etc)|[A-Z])\.$")
"""Abbreviations and initials that end in a stop without ending the sentence."""


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences of `text`; `e.g.`, `vs.`, `3.6x` and `v2.1` do not end one."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        if _NOT_AN_END.search(text[max(start, m.start() - 10):m.start() + 1]):
            continue
        spans.append((start, m.start() + len(m.group().rstrip())))
        start = m.end()
    end = len(text.rstrip())
    if start < end:
        spans.append((start, end))
    return spans


class SentenceIndex:
    """The sentence around any position of a text, found by bisection (not by a scan)."""

    def __init__(self, text: str, title_end: int):
        body = sentences(text[title_end + 1:])
        self.spans = [(0, title_end)] + [(s + title_end + 1, e + title_end + 1) for s, e in body]
        self._starts = [s for s, _ in self.spans]

    def of(self, position: int) -> tuple[int, int]:
        """The span of the sentence holding `position`; `(position, position)` between sentences."""
        i = bisect_right(self._starts, position) - 1
        if i >= 0:
            start, end = self.spans[i]
            if position < end:
                return start, end
        return position, position
