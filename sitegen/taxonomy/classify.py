"""Papers -> topics and hardware mentions, by the rules.

A topic applies when one of its phrases is in the title, or twice in the abstract. A hardware
term applies when the title or abstract names it as hardware (not as a dataset's name, `the
iPhone dataset`, or an everyday example, `the price of a used iPhone`); the mention keeps its
sentence. Of overlapping mentions the longest wins (`RTX 4090 D` over `RTX 4090`), unless the
shorter is more specific.

The work per paper is linear in its text: phrases run only where their trigger words are,
sentences are found by bisection, a sentence's context is looked up once, and overlaps are
checked against the characters already taken.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from itertools import groupby

from ..diagnostics import BuildCancelled, Diagnostic
from ..papers import HardwareMention, Paper, hardware_mention, slugify, with_fields
from ..parallel import fork_imap
from .phrases import Matcher, required_text, spans, word_sets
from .sentences import SentenceIndex
from .terms import Taxonomy, Term

BATCH = 500
"""Papers classified at a time (memory stays flat for many papers; workers take a batch each)."""

Text = tuple[str, str | None]
"""What is classified of a paper: its title and abstract."""
Found = tuple[tuple[str, ...], tuple[HardwareMention, ...], tuple[tuple[str, str, str], ...]]
"""A paper's topics, hardware mentions, and the models it names that a family's pattern found
(`specific`): (slug, name, the family's slug) each."""

_AS_DATA_AFTER = re.compile(
    r"(?:-\w+)?(?:[\s,]+(?:and|or|&)?\s*[A-Z][\w\-]*)*\s*[-\s]?"
    r"(?i:data\s?sets?|benchmarks?|corpus|corpora|captures|scans)\b")
"""After a device's name: it names data (`the iPhone dataset`, `iPhone, ScanNet and DTU datasets`)."""
_AS_DATA_BEFORE = re.compile(
    r"(?i:data\s?sets?|benchmarks?)\s*(?i:such as|including|like|:|\()\s*(?:[A-Z][\w\-]*[\s,]+(?:and\s+|or\s+)?)*$")
"""Before it: `datasets such as ScanNet, iPhone`."""
_EVERYDAY = re.compile(r"\b(?:price|prices|priced|sell|sells|selling|sold|buy|buying|bought|purchase)\b[^.;]{0,30}$",
                       re.IGNORECASE)
"""Before it: an everyday example, not the hardware the work used (`the price of a used iPhone`)."""


@dataclass
class ClassifyCache:
    """Classifications of the last build, kept by the preview server for the next build."""

    taxonomy: Taxonomy | None = None
    """The rules they were made with (equal only for the same rule file)."""
    texts: dict[Text, Found] = field(default_factory=dict)
    """A paper's topics and hardware by its title and abstract, the only text classified."""
    papers: dict[int, tuple[Paper, Paper]] = field(default_factory=dict)
    """By id of the paper given: (that paper, the paper classified), so that an unchanged
    paper comes out as the same object build after build."""


@dataclass(frozen=True)
class Classified:
    """What classification gives: the papers with their terms, and what to tell the curator."""

    papers: list[Paper]
    taxonomy: Taxonomy
    """The taxonomy with the models that families' patterns found in the papers."""
    unmatched: tuple[Diagnostic, ...] = ()
    """Rules that tag no paper (directly or through the terms below them)."""
    untagged: tuple[Diagnostic, ...] = ()
    """Papers left without a topic."""


def classify(papers: list[Paper], taxonomy: Taxonomy, *, cache: ClassifyCache | None = None,
             workers: int = 1, nice: int = 0, cancelled: Callable[[], bool] | None = None) -> Classified:
    """Fill `topics` and `hardware` of every paper from the rules.

    A paper's classification depends on its title, abstract and the rules only: `cache` holds
    those of the last build (the preview server keeps it), and only new texts are classified.
    `workers` processes share them, at `nice` lower priority. Once `cancelled()` is true, it
    stops with BuildCancelled.
    """
    if not taxonomy.matchers:
        return Classified(list(papers), taxonomy)
    cache = cache if cache is not None else ClassifyCache()
    if cache.taxonomy != taxonomy:
        cache.taxonomy, cache.texts, cache.papers = taxonomy, {}, {}
    todo = [text for text in dict.fromkeys((paper.title, paper.abstract) for paper in papers)
            if text not in cache.texts]
    index = _index(taxonomy)
    parts = dict(fork_imap(partial(_classify_texts, taxonomy, index), todo, workers=workers, chunk=BATCH,
                           numbered=True, nice=nice, cancelled=cancelled))
    cache.texts.update(zip(todo, (found for start in sorted(parts) for found in parts[start])))
    if cancelled and cancelled():
        raise BuildCancelled("classify")
    result, reused = [], {}
    for paper in papers:
        last = cache.papers.get(id(paper))
        if last is None or last[0] is not paper:
            topics, mentions, _ = cache.texts[paper.title, paper.abstract]
            last = (paper, with_fields(paper, topics=topics, hardware=mentions))
        reused[id(paper)] = last
        result.append(last[1])
    cache.papers = reused
    cache.texts = {text: cache.texts[text] for text in dict.fromkeys((p.title, p.abstract) for p in result)}
    found = with_models(taxonomy, (model for _, _, models in cache.texts.values() for model in models))
    return Classified(result, found, unmatched_rules(result, taxonomy), untagged(result, taxonomy))


def with_models(taxonomy: Taxonomy, models) -> Taxonomy:
    """`taxonomy` with the models families' patterns found (slug, name, family slug), each once."""
    new = {}
    for slug, name, family in sorted(models):
        if slug not in taxonomy.terms and slug not in new:
            new[slug] = Term(slug, name, "hardware", role="model", parents=(_nearest_model(taxonomy, family, name),))
    if not new:
        return taxonomy
    digest = hashlib.sha256(taxonomy.digest.encode() + "\0".join(new).encode()).hexdigest()
    return replace(taxonomy, hardware=taxonomy.hardware + tuple(new.values()), digest=digest)


def _nearest_model(taxonomy: Taxonomy, family: str, name: str) -> str:
    """The model of `family` whose name begins `name` the most (`STM32F746` for `STM32F746G`),
    not across a number (`A100` does not begin `A1000`); else `family`."""
    best, length = family, 0
    for term in (taxonomy.terms[family], *taxonomy.descendants(family)):
        n = len(term.name)
        if (term.role == "model" and length < n < len(name) and name.startswith(term.name)
                and not (name[n - 1].isdigit() and name[n].isdigit())):
            best, length = term.slug, n
    return best


@dataclass(frozen=True)
class _Index:
    """Which phrases to try on a text, by the words in it; made once per taxonomy."""

    words: frozenset[bytes]
    """Every trigger word."""
    by_word: dict[bytes, tuple[tuple[int, int], ...]]
    """(matcher, phrase) numbers by the trigger word that decides whether the phrase runs."""
    others: dict[tuple[int, int], tuple[frozenset[bytes], tuple[frozenset[bytes], ...]]]
    """A phrase's other trigger sets: the text must hold one word of each too."""
    always: tuple[tuple[tuple[int, int], frozenset[str] | None], ...]
    """`regex` and `specific` rules, with the strings one of which a text must hold for them to
    run (None: every text). Searching 10,000 texts with the 24 default patterns took 6.3 s; the
    strings leave them a few dozen texts."""
    ancestors: tuple[frozenset[str], ...]
    """The slugs up the graph of each matcher's term."""


_INDEXES: dict[str, _Index] = {}


def _index(taxonomy: Taxonomy) -> _Index:
    """The index of a taxonomy, kept for the last few taxonomies."""
    found = _INDEXES.get(taxonomy.digest)
    if found is None:
        by_word: dict[bytes, set[tuple[int, int]]] = {}
        others: dict[tuple[int, int], tuple[frozenset[bytes], tuple[frozenset[bytes], ...]]] = {}
        for i, matcher in enumerate(taxonomy.matchers):
            for j, phrase in enumerate(matcher.phrases):
                # the most distinctive word of the phrase decides on which texts its regex runs
                decisive = max(phrase.triggers, key=_distinctive)
                for word in decisive:
                    by_word.setdefault(word, set()).add((i, j))
                if len(phrase.triggers) > 1:
                    rest = [ws for ws in phrase.triggers if ws is not decisive]
                    # words the text must hold (a set test), and sets of which it must hold one
                    others[i, j] = (frozenset(w for ws in rest if len(ws) == 1 for w in ws),
                                    tuple(ws for ws in rest if len(ws) > 1))
        found = _Index(frozenset(by_word), {w: tuple(sorted(p)) for w, p in by_word.items()}, others,
                       tuple(((i, -1), _required_of(m)) for i, m in enumerate(taxonomy.matchers)
                             if m.regex is not None or m.specific is not None),
                       tuple(frozenset(t.slug for t in taxonomy.ancestors(m.term.slug))
                             for m in taxonomy.matchers))
        if len(_INDEXES) > 3:
            _INDEXES.clear()
        _INDEXES[taxonomy.digest] = found
    return found


def _required_of(matcher: Matcher) -> frozenset[str] | None:
    """The strings one of which a text must hold for the matcher's regex or specific pattern to match."""
    found = [required_text(r) for r in (matcher.regex, matcher.specific) if r is not None]
    return None if any(f is None for f in found) else frozenset().union(*found)


def _distinctive(words: frozenset[bytes]) -> tuple:
    """How rare a trigger set's words are likely to be: length makes a word rare, and digits in
    a word of three or more (`4090`, `h100`); a bare `2` or `3d` is common."""
    return min((len(w) >= 3 and any(48 <= c <= 57 for c in w), len(w)) for w in words)


def _classify_texts(taxonomy: Taxonomy, index: _Index, texts: list[Text]) -> list[Found]:
    """Topics and hardware mentions of each (title, abstract), by the rules."""
    joined = [title + "\n" + (abstract or "") for title, abstract in texts]
    result = []
    lowered = [text.lower() for text in joined]
    for (title, _), text, low, found in zip(texts, joined, lowered, word_sets(lowered)):
        pairs = {pair for pair, required in index.always if required is None or any(r in low for r in required)}
        for word in index.words.intersection(found):
            pairs.update(index.by_word[word])
        others = index.others
        pairs = sorted(pair for pair in pairs if pair not in others or (
            others[pair][0] <= found and not any(map(found.isdisjoint, others[pair][1]))))
        result.append(_classify_text(text, low if len(low) == len(text) else None, len(title),
                                     taxonomy.matchers, pairs, index.ancestors))
    return result


def _classify_text(text: str, low: str | None, title_end: int, matchers: tuple[Matcher, ...], pairs: list[tuple[int, int]],
                   ancestors: tuple[frozenset[str], ...]) -> Found:
    sentences: list[SentenceIndex] = []

    def sentence_of(position: int) -> tuple[int, int]:
        if not sentences:
            sentences.append(SentenceIndex(text, title_end))
        return sentences[0].of(position)

    topics: list[str] = []
    found: list[tuple[int, int, tuple[int, str]]] = []  # (start, end, term) of hardware mentions
    lineage: dict[tuple[int, str], frozenset[str]] = {}  # a term's ancestors; a term is (matcher, specific name)
    for number, group in groupby(pairs, key=lambda pair: pair[0]):
        matcher = matchers[number]
        is_topic = matcher.term.kind == "topic"
        hits = _term_hits(matcher, [j for _, j in group], text, low, sentence_of, title_end if is_topic else -1)
        if is_topic:
            if hits and (hits[0][0] < title_end or len(hits) >= 2):
                topics.append(matcher.term.slug)
            continue
        lineage[number, ""] = ancestors[number]
        generic = matcher.term.role != "model"
        found.extend((s, e, (number, "")) for s, e in hits if not _not_hardware(text, s, e, sentence_of)
                     and not (generic and s >= title_end and _in_prospect(text, sentence_of(s))))
        for m in matcher.specific.finditer(text) if matcher.specific else ():
            model = next(g for g in m.groups() if g)
            name = matcher.specific_name.replace("{}", " ".join(model.split()))
            if not _not_hardware(text, m.start(), m.end(), sentence_of):
                lineage[number, name] = ancestors[number] | {matcher.term.slug}
                found.append((m.start(), m.end(), (number, name)))

    def slug_of(term: tuple[int, str]) -> str:
        return model_slug(term[1]) if term[1] else matchers[term[0]].term.slug

    taken: dict[int, tuple[int, str]] = {}  # character -> the kept mention that covers it
    kept: list[tuple[int, int, tuple[int, str]]] = []
    for start, end, term in sorted(found, key=lambda f: (f[0] - f[1], f[0], f[2])):
        clashes = {taken[i] for i in range(start, end) if i in taken}
        if all(slug_of(k) in lineage[term] or k == term for k in clashes):
            # the longest of overlapping mentions wins, unless the shorter one is more specific
            kept.append((start, end, term))
            for i in range(start, end):
                taken[i] = term
    first: dict[tuple[int, str], tuple[int, int]] = {}
    dropped = {(s, e, t) for s, e, t in kept if any(taken.get(i) != t for i in range(s, e))}
    for start, end, term in sorted(kept):
        if (start, end, term) not in dropped:
            first.setdefault(term, (start, end))
    for term in list(first):  # `a MacBook Pro M2`: the laptop named with its chip counts as the chip
        if "laptop" in lineage[term] and not lineage[term] & _CHIP_FAMILIES and any(
                _adjacent(text, first[term], first[other]) for other in first if lineage[other] & _CHIP_FAMILIES):
            del first[term]
    slugs = {term: slug_of(term) for term in first}
    for term in list(first):  # `Jetson Orin` and `Jetson Orin Nano`: the paper names the Nano
        if any(slugs[term] in lineage[other] for other in first if other != term):
            del first[term]
    mentions, models = {}, set()
    for term in sorted(first):
        start, end = first[term]
        s, e = sentence_of(start)
        mentions.setdefault(slugs[term], hardware_mention(slugs[term], text, (s, e), start, min(end, e)))
        if term[1]:
            models.add((slugs[term], term[1], matchers[term[0]].term.slug))
    return tuple(topics), tuple(mentions.values()), tuple(sorted(models))


def model_slug(name: str) -> str:
    """The slug of a model's name: `Snapdragon 8+ Gen 1` is not `Snapdragon 8 Gen 1`."""
    return slugify(name.replace("+", " plus"))


_CHIP_FAMILIES = frozenset({"apple-silicon"})
"""Architectures whose models are chips inside laptops, not the laptops."""


def _adjacent(text: str, a: tuple[int, int], b: tuple[int, int]) -> bool:
    """Whether two spans are separated by spaces and hyphens only."""
    gap = text[a[1]:b[0]] if a[1] <= b[0] else text[b[1]:a[0]] if b[1] <= a[0] else "x"
    return not gap.strip(" -\n")


def _not_hardware(text: str, start: int, end: int, sentence_of) -> bool:
    """Whether a device's name names data or an everyday example here, not the hardware used."""
    s, e = sentence_of(start)
    after, before = text[end:min(e, end + 60)], text[max(s, start - 60):start]
    return bool(_AS_DATA_AFTER.match(after) or _AS_DATA_BEFORE.search(before) or _EVERYDAY.search(before))


_PROSPECT = re.compile(
    r"\b(?:hinder\w*|(?:un)?suitable for|impractical|infeasible|barriers? to|prohibitive\w*|fall(?:s)? short|"
    r"limit(?:s|ed)?\s+(?:the|their|its)\s+(?:deployment|use|adoption|application))\b", re.IGNORECASE)
"""Words of a sentence about where a method could run, or what keeps it from there, rather than
where the paper ran it: `suitable for deployment on mobile phones`, `hinder deployment on edge
devices`. (A sentence that calls running there a challenge is kept: papers say so of the
hardware they then run on.)"""


def _in_prospect(text: str, sentence: tuple[int, int]) -> bool:
    """Whether a sentence speaks of hardware as a prospect or a problem (`_PROSPECT`): a class,
    vendor or architecture named there is not hardware the paper used. Models still count."""
    return _PROSPECT.search(text, *sentence) is not None


def _term_hits(matcher: Matcher, phrases: list[int], text: str, low: str | None, sentence_of,
               title_end: int) -> list[tuple[int, int]]:
    """Distinct spans where a term's rules match (phrase numbers given; -1 is the regex);
    `low` is the text lower-cased (None when that changes its length).

    With `title_end` >= 0 (a topic) it stops as soon as the topic is decided.
    """
    hits: list[tuple[int, int]] = []
    context: dict[tuple[int, int], bool] = {}  # by sentence: whether it holds a context phrase
    for j in phrases:
        if j < 0:
            if matcher.regex is not None:
                hits.extend(m.span() for m in matcher.regex.finditer(text) if m.end() > m.start())
        else:
            phrase = matcher.phrases[j]
            fast = phrase.lower_pattern if low is not None else None
            for start, end in spans(fast or phrase.pattern, text, capital_s=phrase.capital_s,
                                    scan=low if fast else None):
                if phrase.ambiguous and _part_of_a_name(text, start, end):
                    continue
                if phrase.ambiguous:
                    sentence = sentence_of(start)
                    if sentence not in context:
                        context[sentence] = bool(matcher.context and spans(matcher.context, text, *sentence))
                    if not context[sentence]:
                        continue
                hits.append((start, end))
        if title_end >= 0 and hits and not matcher.exclude:
            hits = _distinct(hits)
            if hits[0][0] < title_end or len(hits) >= 2:
                return hits
    if hits and matcher.exclude:
        excluded = _distinct(spans(matcher.exclude, text))
        starts = [s for s, _ in excluded]

        def clear(start: int, end: int) -> bool:
            i = bisect_right(starts, end - 1) - 1  # the last excluded span starting before `end`
            return i < 0 or excluded[i][1] <= start

        hits = [(s, e) for s, e in hits if clear(s, e)]
    return _distinct(hits)


def _part_of_a_name(text: str, start: int, end: int) -> bool:
    """Whether a short name is part of a longer one: `MiniMax-M2.7`, `BGE-M3`, `GLM-4`."""
    joined_before = start >= 2 and text[start - 1] in "-_/" and text[start - 2].isalnum()
    version_after = end + 1 < len(text) and text[end] == "." and text[end + 1].isdigit()
    return joined_before or version_after


def _distinct(hits: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping hits joined: `novel view synthesis` is one hit, not three."""
    if len(hits) < 2:
        return hits
    distinct: list[tuple[int, int]] = []
    for start, end in sorted(hits):
        if distinct and start < distinct[-1][1]:
            distinct[-1] = (distinct[-1][0], max(end, distinct[-1][1]))
        else:
            distinct.append((start, end))
    return distinct


def unmatched_rules(papers: list[Paper], taxonomy: Taxonomy) -> tuple[Diagnostic, ...]:
    """The rules (not catalogue terms) that tag no paper, directly or through the terms below them."""
    used = {slug for paper in papers for slug in paper.topics}
    used.update(m.slug for paper in papers for m in paper.hardware)
    return tuple(
        Diagnostic(taxonomy.source, term.line, f"{term.name!r} matches no paper")
        for term in taxonomy.topics + taxonomy.hardware
        if term.line and term.slug not in used and not any(d.slug in used for d in taxonomy.descendants(term.slug)))


def untagged(papers: list[Paper], taxonomy: Taxonomy) -> tuple[Diagnostic, ...]:
    """The papers without a topic, where they were read."""
    if not taxonomy.topics:
        return ()
    return tuple(Diagnostic(p.sources[0].file, p.sources[0].line, f"{p.title!r} has no topic")
                 for p in papers if not p.topics and not p.inferred_topics and p.sources)

