"""Similar papers: TF-IDF cosine similarity of title (weighted up) and abstract.

In flat NumPy arrays, in memory that grows with the number of papers, not with its square:

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

import math
import string
from collections import Counter
from dataclasses import dataclass, field
from itertools import chain, repeat

import numpy as np

from .papers import Paper
from .parallel import Forked, fork_map

TITLE_WEIGHT = 3
"""A word of the title counts as this many words of the abstract."""
QUERY_WORDS = 16
"""Words per paper used to look for similar papers (above `EXACT_UP_TO` papers)."""
INDEX_WORDS = 40
"""Words per paper under which it is indexed (above `EXACT_UP_TO` papers)."""
POSTINGS = 24
"""Papers kept per word in the inverted index (above `EXACT_UP_TO` papers)."""
EXACT_UP_TO = 1000
VECTORS = 2000
"""Papers whose vectors are computed at a time (memory)."""
LOOKUPS = 1000
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
           workers: int = 1) -> dict[str, tuple[str, ...]]:
    """The slugs of the `count` papers most similar to each paper, most similar first, by its slug.

    The vectors and the index are built here; `workers` processes share the look-ups (most
    of the time), each paper's on its own, so the result does not depend on `workers`.
    """
    if len(papers) < 2 or count <= 0:
        return {p.slug: () for p in papers}
    exact = len(papers) <= exact_up_to
    ranks = np.array(_slug_ranks(papers))
    vectors = _vectors([_counts(paper) for paper in papers], None if exact else INDEX_WORDS)
    index = _index(vectors, ranks, None if exact else POSTINGS)
    queries = vectors if exact else _strongest(vectors, QUERY_WORDS)

    def most_similar(numbers: range) -> list[tuple[int, ...]]:
        return _most_similar(numbers, queries, index, ranks, count)

    found = fork_map(most_similar, range(len(papers)), workers=workers, chunk=LOOKUPS)
    return {paper.slug: tuple(papers[i].slug for i in related) for paper, related in zip(papers, found)}


@dataclass(frozen=True)
class _Vectors:
    """TF-IDF vectors of several papers in flat arrays: paper by paper, strongest word first."""

    paper: np.ndarray
    """Number of the paper of each entry (ascending)."""
    word: np.ndarray
    """Number of its word."""
    weight: np.ndarray
    """Its weight; a paper's weights make a unit vector."""
    starts: np.ndarray
    """Where each paper's entries start (one more at the end: where they all end)."""


def _vectors(counted: list[tuple[tuple[bytes, ...], tuple[int, ...]]], most: int | None = None
             ) -> _Vectors:
    """Unit-length TF-IDF vectors (sublinear term frequency), each paper's strongest word first.

    Words in one paper only or in all get no weight. The term frequency weighs `1 + log(tf)`;
    the norm adds the squares from left to right, in the text's order. With `most`, each
    paper keeps its `most` strongest words only. `VECTORS` papers at a time (memory).
    """
    total = len(counted)
    df = Counter(chain.from_iterable(words for words, _ in counted))  # a paper's words are distinct
    numbers = {w: i for i, w in enumerate(w for w, n in df.items() if 1 < n < total)}
    idf = np.array([math.log(total / n) for n in df.values() if 1 < n < total])
    parts = []
    for first in range(0, total, VECTORS):
        part = counted[first:first + VECTORS]
        words = list(chain.from_iterable(words for words, _ in part))
        word = np.fromiter(map(numbers.get, words, repeat(-1)), np.int64, len(words))
        tfs = np.fromiter(chain.from_iterable(tfs for _, tfs in part), np.int64, len(words))
        paper = np.repeat(np.arange(len(part)), [len(words) for words, _ in part])
        known = word >= 0
        word, tfs, paper = word[known], tfs[known], paper[known]
        sublinear = np.array([0.0] + [1 + math.log(n) for n in range(1, int(tfs.max(initial=0)) + 1)])
        weight = sublinear[tfs] * idf[word]
        norm = np.sqrt(np.bincount(paper, weights=weight * weight, minlength=len(part)))  # left to right
        weight = weight / np.where(norm > 0, norm, 1.0)[paper]
        order = np.lexsort((-weight, paper))  # stable: equal weights keep the text's order
        vectors = _Vectors(paper[order], word[order], weight[order], _starts(paper, len(part)))
        parts.append(vectors if most is None else _strongest(vectors, most))
    paper = np.concatenate([v.paper + first for first, v in zip(range(0, total, VECTORS), parts)])
    return _Vectors(paper, np.concatenate([v.word for v in parts]),
                    np.concatenate([v.weight for v in parts]), _starts(paper, total))


def _strongest(vectors: _Vectors, most: int) -> _Vectors:
    """Each paper's `most` strongest words only."""
    keep = np.arange(len(vectors.paper)) - vectors.starts[vectors.paper] < most
    return _Vectors(vectors.paper[keep], vectors.word[keep], vectors.weight[keep],
                    _starts(vectors.paper[keep], len(vectors.starts) - 1))


def _index(vectors: _Vectors, ranks: np.ndarray, postings: int | None) -> _Vectors:
    """The inverted index: the same arrays by word, each word's papers by weight, strongest first.

    With `postings`, a word keeps its `postings` strongest papers only (in a tie for a place,
    the smaller slug wins).
    """
    order = np.lexsort((ranks[vectors.paper], -vectors.weight, vectors.word))
    word, paper, weight = vectors.word[order], vectors.paper[order], vectors.weight[order]
    words = int(word.max(initial=-1)) + 1
    starts = _starts(word, words)
    if postings is not None:
        keep = np.arange(len(word)) - starts[word] < postings
        word, paper, weight = word[keep], paper[keep], weight[keep]
        starts = _starts(word, words)
    return _Vectors(paper, word, weight, starts)


def _starts(groups: np.ndarray, size: int) -> np.ndarray:
    """Where each group of the ascending group numbers `groups` (0 to size-1) starts, and the end."""
    starts = np.zeros(size + 1, np.int64)
    np.cumsum(np.bincount(groups, minlength=size), out=starts[1:])
    return starts


PAIRS = 1 << 20
"""Pairs of papers scored at a time (memory)."""


def _most_similar(numbers: range, queries: _Vectors, index: _Vectors, ranks: np.ndarray,
                  count: int) -> list[tuple[int, ...]]:
    """For each paper in `numbers`, the numbers of the `count` papers with the highest scores.

    A paper's score adds up, from left to right in the order of the query's words, the query
    weight times the paper's weight under that word in `index` (the paper's cosine when nothing
    is pruned). Ties go to the smaller slug.
    """
    sizes = np.diff(index.starts)
    first, last = queries.starts[numbers.start], queries.starts[numbers.stop]
    before = np.zeros(last - first + 1, np.int64)  # pairs before each query entry
    np.cumsum(sizes[queries.word[first:last]], out=before[1:])
    before = before[queries.starts[numbers.start:numbers.stop + 1] - first]  # ... before each paper
    found: list[tuple[int, ...]] = []
    start = 0
    while start < len(numbers):  # as many papers as make PAIRS pairs, at least one
        stop = int(np.searchsorted(before, before[start] + PAIRS, side="right")) - 1
        stop = min(max(stop, start + 1), len(numbers))
        found += _scores(numbers[start:stop], queries, index, sizes, ranks, count)
        start = stop
    return found


def _scores(numbers: range, queries: _Vectors, index: _Vectors, sizes: np.ndarray,
            ranks: np.ndarray, count: int) -> list[tuple[int, ...]]:
    """`_most_similar` of a few papers at once: every pair's score in one array."""
    total = len(ranks)
    lo, hi = queries.starts[numbers.start], queries.starts[numbers.stop]
    query_paper, query_word = queries.paper[lo:hi], queries.word[lo:hi]
    lengths = sizes[query_word]
    entry = np.repeat(np.arange(hi - lo), lengths)  # the query entry of each pair...
    ends = np.cumsum(lengths)  # ... and its posting, in query order
    posting = np.arange(int(ends[-1]) if len(ends) else 0) \
        - np.repeat(ends - lengths - index.starts[query_word], lengths)
    a, b = query_paper[entry], index.paper[posting]
    product = queries.weight[lo:hi][entry] * index.weight[posting]
    other = a != b
    key = (a[other] - numbers.start) * total + b[other]
    product = product[other]
    if not len(key):
        return [()] * len(numbers)
    # the products of a pair add up from left to right (bincount), in query order
    if len(numbers) * total <= 2 * len(key):  # many pairs: one sum for every two papers
        score = np.bincount(key, weights=product, minlength=len(numbers) * total)
        key = np.flatnonzero(score)  # every product is positive
        score = score[key]
    else:  # few pairs: a pair's products one after the other, still in query order
        order = np.argsort(key, kind="stable")
        key, product = key[order], product[order]
        new = _runs(key)
        score = np.bincount(np.cumsum(new) - 1, weights=product)
        key = key[new]
    a, b = key // total + numbers.start, key % total
    # no score below a paper's count-th highest distinct score can make its count best
    firsts = np.flatnonzero(_runs(a))
    group = np.repeat(np.arange(len(firsts)), np.diff(np.append(firsts, len(a))))
    left = score.copy()
    for _ in range(count):
        top = np.maximum.reduceat(left, firsts)[group]
        left[left == top] = -np.inf
    keep = score >= top
    a, b, score = a[keep], b[keep], score[keep]
    best = np.lexsort((ranks[b], -score, a))
    a, b = a[best], b[best]
    starts = np.searchsorted(a, np.arange(numbers.start, numbers.stop + 1))
    b = b.tolist()
    return [tuple(b[s:min(s + count, e)]) for s, e in zip(starts[:-1].tolist(), starts[1:].tolist())]


def _runs(values: np.ndarray) -> np.ndarray:
    """True where a run of equal values starts."""
    starts = np.empty(len(values), bool)
    starts[:1] = True
    np.not_equal(values[1:], values[:-1], out=starts[1:])
    return starts


@dataclass
class RelatedCache:
    """The last exact `relate` of a build, kept by the preview server for the next build."""

    inputs: tuple = ()
    """Each paper's (slug, title, abstract), sorted: everything `relate` reads."""
    related: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Its result."""


def relate_again(papers: list[Paper], cache: RelatedCache, *, quick: bool = False, nice: int = 0) -> Forked:
    """`relate`, reusing the last result in `cache` where it is still exact: `(related, exact)`,
    from the returned `Forked`'s `result()`.

    The result is the last one when no paper's slug, title or abstract changed (nothing else
    goes into it). Otherwise, with `quick`, each paper keeps the related papers it had that
    still exist (new papers get none yet): approximate, for a preview that a second, exact
    build corrects; without `quick` it is computed afresh, in a forked process, while the
    caller goes on (the build classifies the papers meanwhile: `relate` reads nothing that
    classification gives), at `nice` lower priority.
    """
    inputs = tuple(sorted((p.slug, p.title, p.abstract or "") for p in papers))
    if inputs == cache.inputs:
        return Forked(lambda: (cache.related, True), fork=False)
    if not quick:
        def remember(related: dict[str, tuple[str, ...]]) -> tuple[dict[str, tuple[str, ...]], bool]:
            cache.inputs, cache.related = inputs, related
            return related, True

        return Forked(relate, papers, then=remember, nice=nice)  # one process: classification has the other core
    present = {p.slug for p in papers}
    return Forked(lambda: ({p.slug: tuple(s for s in cache.related.get(p.slug, ()) if s in present)
                            for p in papers}, False), fork=False)


def content_words(paper: Paper) -> set[bytes]:
    """The words of a paper's title and abstract that tell it apart (no stop words)."""
    return set(_words(paper.abstract or "") + _words(paper.title)) - STOPWORDS


def _counts(paper: Paper) -> tuple[tuple[bytes, ...], tuple[int, ...]]:
    """Words and their counts: the title's `TITLE_WEIGHT` times, the abstract's, no stop words."""
    counts = Counter(_words(paper.abstract or "") + _words(paper.title) * TITLE_WEIGHT)
    for word in STOPWORDS.intersection(counts):
        dict.__delitem__(counts, word)  # Counter's own __delitem__ is Python code
    return tuple(counts), tuple(counts.values())


def _words(text: str) -> list[bytes]:
    """Lower-case runs of ASCII letters and digits."""
    return text.lower().encode("utf-8", "replace").translate(_LETTERS_AND_DIGITS).split()


def _slug_ranks(papers: list[Paper]) -> list[int]:
    """Each paper's place in slug order."""
    ranks = [0] * len(papers)
    for rank, number in enumerate(sorted(range(len(papers)), key=lambda i: papers[i].slug)):
        ranks[number] = rank
    return ranks
