"""Similar papers: TF-IDF cosine similarity of title (weighted up) and abstract.

Pure Python, in memory that grows with the number of papers, not with its square:

* each paper is a TF-IDF vector (sublinear term frequency, title words count three times,
  stop words left out);
* an inverted index lists each paper under its strongest words only (`INDEX_WORDS`), and
  keeps for each word only the papers it weighs most in (`POSTINGS`);
* a paper is compared through its strongest words only (`QUERY_WORDS`): the score of a
  candidate is the part of the cosine those words carry.

Up to `EXACT_UP_TO` papers nothing is pruned and the scores are the exact cosines. Ties go to
the smaller slug, so the result never depends on input order or hash seed.
"""

from __future__ import annotations

import heapq
import math
import string
from collections import Counter
from dataclasses import dataclass, field
from operator import itemgetter

from .papers import Paper, with_fields
from .parallel import fork_map

TITLE_WEIGHT = 3
"""A word of the title counts as this many words of the abstract."""
QUERY_WORDS = 16
"""Words per paper used to look for similar papers (above `EXACT_UP_TO` papers)."""
INDEX_WORDS = 40
"""Words per paper under which it is indexed (above `EXACT_UP_TO` papers)."""
POSTINGS = 24
"""Papers kept per word in the inverted index (above `EXACT_UP_TO` papers)."""
EXACT_UP_TO = 1000
PRUNE_EVERY = 5000
"""Papers between two prunings of the index to `POSTINGS` per word."""
LOOKUPS = 500
"""Papers whose similar papers a worker looks up at a time."""

_LETTERS_AND_DIGITS = bytes(b if chr(b) in string.ascii_letters + string.digits else 32
                            for b in range(256))
"""Byte table: ASCII letters and digits stay, everything else becomes a space."""
STOPWORDS = frozenset(w.encode() for w in list(string.ascii_lowercase + string.digits) + """
a about above across after again against all almost also although always among an and
another any are around as at based be because been before being below best better between
both but by can could do does done due during each either enable enables etc even ever every
existing few first for from further furthermore given has have having here high however if
in including into is it its itself just large less like low may more moreover most much must
new not novel of often on one only or other our out over paper per present propose proposed
provide rather same several show shows significant significantly since so some state still
such than that the their them then there these they this those three through thus to two
under up upon us use used uses using various very via was we well were what when where
whether which while who will with within without work would yet art approach approaches
method methods model models results result achieve achieves achieving
""".split())
"""Words too common in abstracts to tell papers apart (single letters and digits too)."""


def relate(papers: list[Paper], count: int = 5, *, exact_up_to: int = EXACT_UP_TO,
           workers: int = 1) -> list[Paper]:
    """Fill `related` of every paper with the slugs of the `count` most similar papers.

    The vectors and the index are built here; `workers` processes share the look-ups (most
    of the time), each paper's on its own, so the result does not depend on `workers`.
    """
    if len(papers) < 2 or count <= 0:
        return [with_fields(p, related=()) for p in papers]
    exact = len(papers) <= exact_up_to
    counted = [_counts(paper) for paper in papers]
    df: Counter[bytes] = Counter()
    for words, _ in counted:
        df.update(words)
    idf = {w: math.log(len(papers) / n) for w, n in df.items() if 1 < n < len(papers)}
    del df
    ranks = _slug_ranks(papers)
    postings: dict[bytes, list[tuple[float, int]]] = {}
    queries: list[list[tuple[bytes, float]]] = []
    for number, (words, tfs) in enumerate(counted):
        vector = _vector(words, tfs, idf)
        rank = -ranks[number]  # in a tie for a place, the smaller slug wins
        for word, weight in (vector if exact else vector[:INDEX_WORDS]):
            postings.setdefault(word, []).append((weight, rank))
        queries.append(vector if exact else vector[:QUERY_WORDS])
        if not exact and number % PRUNE_EVERY == PRUNE_EVERY - 1:  # bounded memory
            for entries in postings.values():
                if len(entries) > POSTINGS:
                    entries[:] = heapq.nlargest(POSTINGS, entries)
    del counted
    by_rank = sorted(range(len(papers)), key=ranks.__getitem__)
    index = {w: [(by_rank[-r], weight) for weight, r in
                 (entries if exact else heapq.nlargest(POSTINGS, entries))]
             for w, entries in postings.items()}
    del postings

    def most_similar(numbers: range) -> list[tuple[str, ...]]:
        found = []
        for number in numbers:
            scores: dict[int, float] = {}
            get = scores.get
            for word, weight in queries[number]:
                for other, other_weight in index[word]:
                    scores[other] = get(other, 0.0) + weight * other_weight
            scores.pop(number, None)
            if len(scores) > count:  # only scores up to the count-th best can make it
                floor = sorted(scores.values(), reverse=True)[count - 1]
                scores = {i: s for i, s in scores.items() if s >= floor}
            best = sorted(scores.items(), key=lambda s: (-s[1], ranks[s[0]]))[:count]
            found.append(tuple(papers[i].slug for i, _ in best))
        return found

    found = fork_map(most_similar, range(len(papers)), workers=workers, chunk=LOOKUPS)
    return [with_fields(paper, related=related) for paper, related in zip(papers, found)]


@dataclass
class RelatedCache:
    """The last exact `relate` of a build, kept by the preview server for the next build."""

    inputs: tuple = ()
    """Each paper's (slug, title, abstract), sorted: everything `relate` reads."""
    related: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Its result, by slug."""
    papers: dict[int, tuple[Paper, tuple[str, ...], Paper]] = field(default_factory=dict)
    """By id of the paper given: (that paper, its related slugs, the paper with them), so that an
    unchanged paper comes out as the same object build after build."""


def relate_again(papers: list[Paper], cache: RelatedCache, *, quick: bool = False,
                 workers: int = 1) -> tuple[list[Paper], bool]:
    """`relate`, reusing the last result in `cache` where it is still exact; False if approximate.

    The result is the last one when no paper's slug, title or abstract changed (nothing else
    goes into it). Otherwise, with `quick`, each paper keeps the related papers it had (new
    papers get none yet): approximate, for a preview that a second, exact build corrects;
    without `quick` it is computed afresh.
    """
    inputs = tuple(sorted((p.slug, p.title, p.abstract or "") for p in papers))
    exact = inputs == cache.inputs
    if not exact and not quick:
        cache.inputs, cache.related, exact = inputs, {p.slug: p.related for p in relate(papers, workers=workers)}, True
    present = {p.slug for p in papers} if not exact else None
    result, reused = [], {}
    for paper in papers:
        related = cache.related.get(paper.slug, ())
        if present is not None:
            related = tuple(slug for slug in related if slug in present)
        last = cache.papers.get(id(paper))
        if last is None or last[0] is not paper or last[1] != related:
            last = (paper, related, with_fields(paper, related=related))
        reused[id(paper)] = last
        result.append(last[2])
    cache.papers = reused
    return result, exact


def _counts(paper: Paper) -> tuple[tuple[bytes, ...], tuple[int, ...]]:
    """Words and their counts: the title's `TITLE_WEIGHT` times, the abstract's, no stop words."""
    counts = Counter(_words(paper.abstract or "") + _words(paper.title) * TITLE_WEIGHT)
    for word in STOPWORDS.intersection(counts):
        dict.__delitem__(counts, word)  # Counter's own __delitem__ is Python code
    return tuple(counts), tuple(counts.values())


def _words(text: str) -> list[bytes]:
    """Lower-case runs of ASCII letters and digits."""
    return text.lower().encode("utf-8", "replace").translate(_LETTERS_AND_DIGITS).split()


_SUBLINEAR = [0.0] + [1 + math.log(n) for n in range(1, 256)]
"""`1 + log(n)` for small n: a term frequency's weight."""


def _vector(words: tuple[bytes, ...], tfs: tuple[int, ...], idf: dict[bytes, float]
            ) -> list[tuple[bytes, float]]:
    """Unit-length TF-IDF weights (sublinear term frequency), strongest first."""
    get = idf.get
    weights = [(w, (_SUBLINEAR[n] if n < 256 else 1 + math.log(n)) * i)
               for w, n in zip(words, tfs) if (i := get(w)) is not None]
    norm = math.sqrt(sum(v * v for _, v in weights)) or 1.0
    # stable sort: equal weights keep the text's order, so the result is still deterministic
    return sorted([(w, v / norm) for w, v in weights], key=itemgetter(1), reverse=True)


def _slug_ranks(papers: list[Paper]) -> list[int]:
    """Each paper's place in slug order."""
    ranks = [0] * len(papers)
    for rank, number in enumerate(sorted(range(len(papers)), key=lambda i: papers[i].slug)):
        ranks[number] = rank
    return ranks
