"""Topics for papers no topic rule tags: the topics their most similar papers share, marked as inferred."""

from __future__ import annotations

from collections import Counter

from ..papers import Paper, with_fields
from ..related import content_words

MIN_SIMILARITY = 0.06
"""Least word overlap (Jaccard, content words of title and abstract) with a similar paper whose topics count."""
MIN_AGREEING = 2
"""Similar papers, above that overlap, that must share a topic for an untagged paper to take it."""
MOST = 2
"""Topics an untagged paper takes at most."""


def infer_topics(papers: list[Paper], related: dict[str, tuple[str, ...]]) -> list[Paper]:
    """Each paper without a topic, with the topics (up to `MOST`) that at least `MIN_AGREEING` of its
    related papers have and share enough words with it: in `inferred_topics`, `topics` unchanged."""
    by_slug = {paper.slug: paper for paper in papers}
    words: dict[str, frozenset[bytes]] = {}

    def words_of(paper: Paper) -> frozenset[bytes]:
        found = words.get(paper.slug)
        if found is None:
            found = words[paper.slug] = frozenset(content_words(paper))
        return found

    result = []
    for paper in papers:
        if paper.topics or paper.inferred_topics:
            result.append(paper)
            continue
        votes: Counter[str] = Counter()
        for slug in related.get(paper.slug, ()):
            other = by_slug.get(slug)
            if other is None or not other.topics:
                continue
            mine, theirs = words_of(paper), words_of(other)
            if mine and len(mine & theirs) / len(mine | theirs) >= MIN_SIMILARITY:
                votes.update(other.topics)
        topics = tuple(sorted((t for t, n in votes.items() if n >= MIN_AGREEING), key=lambda t: (-votes[t], t)))[:MOST]
        result.append(with_fields(paper, inferred_topics=topics) if topics else paper)
    return result
