"""Topic and hardware rules (a TOML file a curator edits) -> terms; papers -> topics and hardware.

Matching is by phrases: case-insensitive, whole words (a phrase never matches inside a longer
word or number, so `L40` does not match `L40S` and `H20` does not match `H200`), with an optional
space or hyphen between the words (`RTX 5090`, `RTX5090`, `RTX-5090`) and an optional plural `s`
written in lower case (`H100s`, `NeRFs`). A number glued to the front by a lost `\\times`
(`4timesRTX 3090`, `8xH100`) still counts as a word boundary.

Speed: each paper's text is cut into a set of words once; a term's regex runs only on papers that
contain one of its trigger words (a word every match must produce), so the cost grows with the
number of papers that mention a term, not with papers x terms. `regex` rules have no triggers and
run on every paper.
"""

from __future__ import annotations

import hashlib
import re
import string
import tomllib
from collections import Counter
from collections.abc import Iterator
from itertools import groupby
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from pathlib import Path

from .diagnostics import BuildError, Diagnostic
from .parallel import fork_map
from .papers import HardwareMention, Paper, hardware_mention, slugify, with_fields

SECTIONS = {"topic": "topic", "vendor": "vendor", "architecture": "architecture",
            "class": "class", "hardware": "model"}
"""Table name in the rule file -> role of its terms (`topic` for topics)."""
PARENT_KEYS = {"variant_of": "model", "architecture": "architecture", "vendor": "vendor",
               "class": "class"}
"""Keys that name a parent term, with the role the parent must have."""
ALLOWED_PARENTS = {"model": ("variant_of", "architecture", "vendor", "class"),
                   "architecture": ("vendor", "class"), "vendor": (), "class": (), "topic": ()}
COMMON_KEYS = ("name", "slug", "description", "match", "ambiguous", "context", "regex", "exclude")


@dataclass(frozen=True)
class Term:
    """A topic or a hardware term; each gets a page."""

    slug: str
    """URL segment, unique across topics and hardware."""
    name: str
    """Display name, exactly as written in the rules (`NVIDIA H100`, `WebGPU`)."""
    kind: str
    """`topic` or `hardware`."""
    description: str = ""
    role: str = "topic"
    """`topic`, or for hardware: `model`, `architecture`, `vendor` or `class`."""
    parents: tuple[str, ...] = ()
    """Slugs one step up the hardware graph: variant_of, architecture, vendor, class."""
    line: int = 0
    """Line of the rule in the rule file, for messages."""


@dataclass(frozen=True)
class _Phrase:
    """One `match` or `ambiguous` phrase, compiled."""

    pattern: re.Pattern
    ambiguous: bool
    capital_s: bool
    """The phrase ends in a capital S (`L40S`): a lower-case `s` there is a plural (`L40s`)."""
    triggers: tuple[frozenset[bytes], ...]
    """For each word of the phrase, the text words a match makes of it; any one set will do."""


@dataclass(frozen=True)
class _Matcher:
    """Compiled rules of one term."""

    term: Term
    phrases: tuple[_Phrase, ...]
    context: re.Pattern | None
    exclude: re.Pattern | None
    regex: re.Pattern | None


@dataclass(frozen=True)
class Taxonomy:
    """Every term of the rule file, in rule-file order, with graph look-ups."""

    topics: tuple[Term, ...] = ()
    hardware: tuple[Term, ...] = ()
    source: str = ""
    """The rule file as shown in messages."""
    digest: str = ""
    """SHA-256 of the rule file: taxonomies are equal only when their rules are."""
    matchers: tuple[_Matcher, ...] = field(default=(), repr=False, compare=False)

    @cached_property
    def terms(self) -> dict[str, Term]:
        """Every term by slug."""
        return {t.slug: t for t in self.topics + self.hardware}

    @property
    def _by_slug(self) -> dict[str, Term]:
        return self.terms

    @cached_property
    def _children(self) -> dict[str, tuple[Term, ...]]:
        children: dict[str, list[Term]] = {}
        for t in self.hardware:
            for parent in t.parents:
                children.setdefault(parent, []).append(t)
        return {slug: tuple(terms) for slug, terms in children.items()}

    def term(self, slug: str) -> Term | None:
        return self._by_slug.get(slug)

    def children(self, slug: str) -> tuple[Term, ...]:
        """Terms one step down the graph (models of an architecture, variants of a model...)."""
        return self._children.get(slug, ())

    def ancestors(self, slug: str) -> tuple[Term, ...]:
        """Every term up the graph, nearest first (H100 -> Hopper, data-centre GPU, NVIDIA)."""
        return self._walk(slug, lambda t: [self._by_slug[p] for p in t.parents])

    def descendants(self, slug: str) -> tuple[Term, ...]:
        """Every term down the graph, nearest first."""
        return self._walk(slug, lambda t: self.children(t.slug))

    def _walk(self, slug: str, step) -> tuple[Term, ...]:
        start = self._by_slug.get(slug)
        if start is None:
            return ()
        seen, order, frontier = {slug}, [], [start]
        while frontier:
            nxt = []
            for term in frontier:
                for other in step(term):
                    if other.slug not in seen:
                        seen.add(other.slug)
                        order.append(other)
                        nxt.append(other)
            frontier = nxt
        return tuple(order)


# --- loading -------------------------------------------------------------------------------

_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*([A-Za-z_]+)[ \t]*\]\]", re.MULTILINE)


def load_rules(path: Path, shown_path: str) -> Taxonomy:
    """Read and check a rule file; a missing file gives an empty taxonomy."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Taxonomy(source=shown_path)
    except (OSError, UnicodeDecodeError) as e:
        raise BuildError(shown_path, 0, f"cannot read the rule file ({e}); save it as UTF-8 text")
    return parse_rules(text, shown_path)


@lru_cache(maxsize=2)
def parse_rules(text: str, shown_path: str) -> Taxonomy:
    """The taxonomy of a rule file's text; a BuildError says what is wrong where.

    A pure function, so its last results are kept: the preview server's rebuilds get the same
    Taxonomy while the rules are unchanged (compiling 500 rules takes 15-25 ms).
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        found = re.search(r"at line (\d+)", str(e))
        line = int(found.group(1)) if found else len(text.rstrip().splitlines())
        message = re.sub(r"\s*\(at (?:line \d+, column \d+|end of document)\)", "", str(e))
        raise BuildError(shown_path, line,
                         f"not valid TOML: {message}; see the comment at the top of "
                         "content/rules.toml for the format") from None
    header_lines: dict[str, list[int]] = {}
    for m in _HEADER.finditer(text):
        header_lines.setdefault(m.group(1), []).append(text.count("\n", 0, m.start()) + 1)
    lines = text.splitlines()

    rules: list[tuple[int, str, dict]] = []
    for section, value in data.items():
        if section not in SECTIONS or not isinstance(value, list):
            raise BuildError(shown_path, _key_line(lines, section, 0, len(lines)),
                             f"unknown section {section!r}; use [[topic]], [[hardware]], "
                             "[[architecture]], [[vendor]] or [[class]]")
        for i, rule in enumerate(value):
            found = header_lines.get(section, [])
            rules.append((found[i] if i < len(found) else 0, SECTIONS[section], rule))
    rules.sort(key=lambda r: r[0])
    ends = {start: (rules[i + 1][0] if i + 1 < len(rules) else len(lines) + 1)
            for i, (start, _, _) in enumerate(rules)}

    terms: list[Term] = []
    matchers: list[_Matcher] = []
    slugs: dict[str, Term] = {}
    parent_keys: dict[str, list[str]] = {}
    for line, role, rule in rules:
        term, matcher = _compile_rule(rule, role, line, ends[line], lines, shown_path)
        if term.slug in slugs:
            other = slugs[term.slug]
            raise BuildError(shown_path, line,
                             f"{_describe(term)} and {_describe(other)} (line {other.line}) both "
                             f"have the slug {term.slug!r}; give one of them another `slug`")
        slugs[term.slug] = term
        parent_keys[term.slug] = _parent_keys_of(rule, role)
        terms.append(term)
        matchers.append(matcher)
    for term in terms:
        for parent in term.parents:
            if parent not in slugs:
                raise BuildError(shown_path, term.line,
                                 f"{_describe(term)} names {parent!r} as a parent, but no rule has "
                                 "that slug; fix the spelling or add the rule")
    for term in terms:
        for key, parent in zip(parent_keys[term.slug], term.parents):
            want = PARENT_KEYS[key]
            if slugs[parent].role != want:
                raise BuildError(shown_path, term.line,
                                 f"{_describe(term)} has {key} = {parent!r}, which is a "
                                 f"{slugs[parent].role}, not a{'n' if want[0] in 'aeiou' else ''} "
                                 f"{want}; point it at a [[{_section_of(want)}]] rule")
    _check_cycles(terms, slugs, shown_path)
    return Taxonomy(
        topics=tuple(t for t in terms if t.kind == "topic"),
        hardware=tuple(t for t in terms if t.kind == "hardware"),
        source=shown_path,
        digest=hashlib.sha256(text.encode()).hexdigest(),
        matchers=tuple(matchers),
    )


def _compile_rule(rule: dict, role: str, line: int, end: int, lines: list[str],
                  shown: str) -> tuple[Term, _Matcher]:
    section = _section_of(role)
    allowed = COMMON_KEYS + ALLOWED_PARENTS[role]
    name = rule.get("name")
    label = f"{section} {name!r}" if isinstance(name, str) else f"[[{section}]] rule"
    for key in rule:
        if key not in allowed:
            raise BuildError(shown, _key_line(lines, key, line, end),
                             f"unknown key {key!r} in {label}; allowed keys: {', '.join(allowed)}")
    if not isinstance(name, str) or not name.strip():
        raise BuildError(shown, line, f"{label} needs a `name = \"...\"`")

    def text_of(key: str) -> str:
        value = rule.get(key, "")
        if not isinstance(value, str):
            raise BuildError(shown, _key_line(lines, key, line, end),
                             f"`{key}` of {label} must be a string in quotes")
        return value

    def list_of(key: str) -> list[str]:
        value = rule.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise BuildError(shown, _key_line(lines, key, line, end),
                             f"`{key}` of {label} must be a list of non-empty strings, "
                             f"like {key} = [\"one\", \"two\"]")
        return value

    slug = text_of("slug") or slugify(name)
    if slug != slugify(slug) or not slug:
        raise BuildError(shown, _key_line(lines, "slug", line, end),
                         f"slug {slug!r} of {label} is not a usable URL segment; "
                         "use lower-case letters, digits and dashes, like "
                         f"{slugify(name) or 'my-term'!r}")
    parents = tuple(slugify(text_of(k)) for k in _parent_keys_of(rule, role))
    term = Term(slug=slug, name=name.strip(), kind="topic" if role == "topic" else "hardware",
                description=text_of("description").strip(), role=role, parents=parents, line=line)

    strong, weak = list_of("match"), list_of("ambiguous")
    context = list_of("context")
    if weak and not context:
        raise BuildError(shown, _key_line(lines, "ambiguous", line, end),
                         f"{label} has `ambiguous` phrases but no `context`; add the words that "
                         "must appear in the same sentence, like context = [\"GPU\"]")
    for key in ("match", "ambiguous", "context", "exclude"):
        for phrase in list_of(key):
            if not _runs(phrase.lower()):
                raise BuildError(shown, _key_line(lines, key, line, end),
                                 f"phrase {phrase!r} in `{key}` of {label} has no letters or "
                                 "digits; remove it")
    regex = None
    if list_of("regex"):
        try:
            regex = re.compile("|".join(f"(?:{r})" for r in list_of("regex")), re.IGNORECASE)
        except re.error as e:
            raise BuildError(shown, _key_line(lines, "regex", line, end),
                             f"invalid regex in {label}: {e}; check the brackets and escapes "
                             "(in TOML, write regexes in single quotes)") from None
    phrases = tuple(_Phrase(_phrases([p]), ambiguous, p.rstrip().endswith("S"), _triggers(p))
                    for ambiguous, group in ((False, strong), (True, weak)) for p in group)
    matcher = _Matcher(term=term, phrases=phrases, context=_phrases(context),
                       exclude=_phrases(list_of("exclude")), regex=regex)
    return term, matcher


def _parent_keys_of(rule: dict, role: str) -> list[str]:
    return [k for k in ALLOWED_PARENTS[role] if rule.get(k)]


def _check_cycles(terms: list[Term], slugs: dict[str, Term], shown: str) -> None:
    for term in terms:
        path, current = [term.slug], term
        while current.role == "model" and current.parents and \
                slugs[current.parents[0]].role == "model":
            current = slugs[current.parents[0]]
            if current.slug in path:
                raise BuildError(shown, term.line,
                                 f"{_describe(term)}: variant_of goes round in a circle "
                                 f"({' -> '.join(path + [current.slug])}); remove one variant_of")
            path.append(current.slug)


def _describe(term: Term) -> str:
    return f"{_section_of(term.role)} {term.name!r}"


def _section_of(role: str) -> str:
    return "hardware" if role == "model" else role


def _key_line(lines: list[str], key: str, start: int, end: int) -> int:
    """Line of `key = ...` (or `[key`) inside lines start..end-1, else `start`."""
    pattern = re.compile(rf"^\s*(?:{re.escape(key)}\s*=|\[+\s*{re.escape(key)}\b)")
    for number in range(max(start, 1), min(end, len(lines) + 1)):
        if pattern.match(lines[number - 1]):
            return number
    return start


# --- phrases -------------------------------------------------------------------------------

BATCH = 500
"""Papers classified at a time (memory stays flat for many papers; workers take a batch each)."""
_ALNUM = frozenset(string.ascii_lowercase + string.digits)
_GLUE = re.compile(r"[0-9]+(?:x|times)")
"""A number glued to the next word by a lost `\\times` or an `x`: `4timesRTX`, `8xH100`."""
_GLUE_BYTES = re.compile(rb"[0-9]+(?:x|times)(?=[a-z0-9])")
_GLUE_ANYWHERE = re.compile(rb"[0-9](?:x|times)[a-z0-9]")
_NOT_ALNUM = bytes(b if chr(b) in _ALNUM or b == 1 else 32 for b in range(256))
"""Byte table: letters and digits stay, the rest becomes a space (\x01 separates texts)."""


def _words(phrase: str) -> list[str]:
    return [w for w in re.split(r"[\s\-]+", phrase.strip().lower()) if w]


def _runs(word: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", word)


def _phrases(phrases: list[str]) -> re.Pattern | None:
    """One regex for a list of phrases, longest first; word boundaries are checked by `_spans`."""
    if not phrases:
        return None
    bodies = sorted({r"[\s\-]?".join(map(re.escape, _words(p))) for p in phrases},
                    key=lambda b: (-len(b), b))
    return re.compile("|".join(bodies))


def _triggers(phrase: str) -> tuple[frozenset[bytes], ...]:
    """For each alphanumeric run of `phrase`, the words of a matching text that contain it.

    A match starts and ends at word boundaries, and the phrase's punctuation splits words, but
    an optional separator left out joins runs (`rtx 5090` -> `rtx5090`) and the last run may take
    a plural `s`. So every match puts one word of each of these sets into the text's word set.
    """
    runs: list[tuple[str, bool]] = []  # (run, may touch the run before: separator left out)
    ends_in_run = False
    for word in _words(phrase):
        pieces = re.split(r"([a-z0-9]+)", word)  # text, run, text, ..., run, text
        for j in range(1, len(pieces), 2):
            runs.append((pieces[j], j == 1 and pieces[0] == "" and ends_in_run))
        ends_in_run = pieces[-1] == ""
    options = []
    for k in range(len(runs)):
        first = k
        while first > 0 and runs[first][1]:
            first -= 1
        last = k
        while last + 1 < len(runs) and runs[last + 1][1]:
            last += 1
        words = set()
        for i in range(first, k + 1):
            for j in range(k, last + 1):
                word = "".join(run for run, _ in runs[i:j + 1])
                words.add(word.encode())
                if j == len(runs) - 1:
                    words.add((word + "s").encode())
        options.append(frozenset(words))
    return tuple(options)


def _word_sets(lows: list[str]) -> Iterator[set[bytes]]:
    """The words (ASCII letter and digit runs) of each lower-cased text, also without a glued
    number (`4timesrtx` -> `rtx`)."""
    joined = "\x01".join(lows)
    if joined.count("\x01") != len(lows) - 1:  # a text holds the separator itself
        joined = "\x01".join(low.replace("\x01", " ") for low in lows)
    for chunk in joined.encode("utf-8", "replace").translate(_NOT_ALNUM).split(b"\x01"):
        words = set(chunk.split())
        if _GLUE_ANYWHERE.search(chunk):
            for word in [w for w in words if w[:1].isdigit()]:
                glued = _GLUE_BYTES.match(word)
                if glued:
                    words.add(word[glued.end():])
        yield words


def _spans(pattern: re.Pattern, low: str, text: str, lo: int = 0, hi: int | None = None,
           capital_s: bool = False) -> list[tuple[int, int]]:
    """Matches of a phrase pattern that start and end at word boundaries."""
    hi = len(low) if hi is None else hi
    spans = []
    alnum = _ALNUM
    for m in pattern.finditer(low, lo, hi):
        start, end = m.span()
        if capital_s and text[end - 1] == "s":
            continue  # `L40s` are L40s, not an L40S
        if end < hi:
            if text[end] == "s" and (end + 1 >= hi or low[end + 1] not in alnum):
                end += 1  # plural: `H100s`, but `L40S` is another GPU
            if end < hi and low[end] in alnum:
                continue
        if start > 0 and low[start - 1] in alnum:
            word_start = start
            while word_start > 0 and low[word_start - 1] in _ALNUM:
                word_start -= 1
            if not _GLUE.fullmatch(low, word_start, start):
                continue
        spans.append((start, end))
    return spans


# --- sentences -----------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"[.!?][\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])")
_NOT_AN_END = re.compile(
    r"(?:^|[\s(\[])(?:(?i:e\.g|i\.e|vs|cf|al|figs?|eqs?|sec|approx|resp)|[A-Z])\.$")
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


# --- classification ------------------------------------------------------------------------

Text = tuple[str, str | None]
"""What is classified of a paper: its title and abstract."""
Found = tuple[tuple[str, ...], tuple[HardwareMention, ...]]
"""A paper's topics and hardware mentions."""


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


def classify(papers: list[Paper], taxonomy: Taxonomy, *, cache: ClassifyCache | None = None,
             workers: int = 1, nice: int = 0) -> tuple[list[Paper], list[Diagnostic]]:
    """Fill `topics` and `hardware` of every paper from the rules.

    A topic applies when one of its phrases is in the title, or twice in the abstract. A
    hardware term applies when the title or abstract names it; the mention keeps its sentence.
    Warns about rules that tag no paper and papers left without a topic.

    A paper's classification depends on its title, abstract and the rules only: `cache` holds
    those of the last build (the preview server keeps it), and only new texts are classified.
    `workers` processes share them, at `nice` lower priority.
    """
    if not taxonomy.matchers:
        return list(papers), []
    cache = cache if cache is not None else ClassifyCache()
    if cache.taxonomy != taxonomy:
        cache.taxonomy, cache.texts, cache.papers = taxonomy, {}, {}
    todo = [text for text in dict.fromkeys((paper.title, paper.abstract) for paper in papers)
            if text not in cache.texts]
    found = fork_map(partial(_classify_texts, taxonomy), todo, workers=workers, chunk=BATCH, nice=nice)
    cache.texts.update(zip(todo, found))
    result, reused = [], {}
    for paper in papers:
        last = cache.papers.get(id(paper))
        if last is None or last[0] is not paper:
            topics, mentions = cache.texts[paper.title, paper.abstract]
            last = (paper, with_fields(paper, topics=topics, hardware=mentions))
        reused[id(paper)] = last
        result.append(last[1])
    cache.papers = reused
    cache.texts = {(p.title, p.abstract): (p.topics, p.hardware) for p in result}
    used = {slug for paper in result for slug in paper.topics}
    used.update(m.slug for paper in result for m in paper.hardware)
    return result, _warnings(result, taxonomy, used)


def _classify_texts(taxonomy: Taxonomy, texts: list[Text]) -> list[Found]:
    """Topics and hardware mentions of each (title, abstract), by the rules."""
    known_words = frozenset(w for m in taxonomy.matchers for p in m.phrases
                            for words in p.triggers for w in words)
    texts_and_lows = [(text, _lower(text)) for text in map(_text, texts)]
    words = [known_words.intersection(found) for found in _word_sets([low for _, low in texts_and_lows])]
    frequency = Counter(w for found in words for w in found)
    index: dict[bytes, set[tuple[int, int]]] = {}
    others: dict[tuple[int, int], list[frozenset[bytes]]] = {}
    for i, matcher in enumerate(taxonomy.matchers):
        for j, phrase in enumerate(matcher.phrases):
            # the rarest word of the phrase decides on which papers its regex runs...
            rarest = min(phrase.triggers, key=lambda ws: sum(frequency[w] for w in ws))
            for word in rarest:
                index.setdefault(word, set()).add((i, j))
            # ... if the text has its other words too (so the choice changes the speed only)
            if len(phrase.triggers) > 1:
                others[i, j] = [ws for ws in phrase.triggers if ws is not rarest]
    keys = frozenset(index)
    always = {(i, -1) for i, m in enumerate(taxonomy.matchers) if m.regex is not None}
    ancestors = [frozenset(t.slug for t in taxonomy.ancestors(m.term.slug))
                 for m in taxonomy.matchers]
    result = []
    for (title, _), (text, low), found in zip(texts, texts_and_lows, words):
        pairs = always.union(*map(index.__getitem__, keys.intersection(found)))
        pairs = sorted(pair for pair in pairs
                       if pair not in others or not any(map(found.isdisjoint, others[pair])))
        topics, mentions = _classify_text(text, low, len(title), taxonomy.matchers, pairs, ancestors)
        result.append((tuple(topics), tuple(mentions)))
    return result


def _text(text: Text) -> str:
    """What is classified: the title, a line break, the abstract."""
    title, abstract = text
    return title + "\n" + (abstract or "")


def _lower(text: str) -> str:
    """Lower case with the same length as `text`, so that offsets carry over."""
    low = text.lower()
    if len(low) == len(text):
        return low
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def _classify_text(text: str, low: str, title_end: int, matchers: tuple[_Matcher, ...],
                   pairs: list[tuple[int, int]], ancestors: list[frozenset[str]]
                   ) -> tuple[list[str], list[HardwareMention]]:
    spans_cache: list[list[tuple[int, int]]] = []

    def sentence_spans() -> list[tuple[int, int]]:
        if not spans_cache:
            body = sentences(text[title_end + 1:])
            spans_cache.append([(0, title_end)] + [(s + title_end + 1, e + title_end + 1)
                                                   for s, e in body])
        return spans_cache[0]

    def sentence_of(pos: int) -> tuple[int, int]:
        for s, e in sentence_spans():
            if s <= pos < e:
                return s, e
        return pos, pos

    topics: list[str] = []
    found: list[tuple[int, int, int]] = []  # (start, end, matcher number) of hardware mentions
    for number, group in groupby(pairs, key=lambda pair: pair[0]):
        matcher = matchers[number]
        is_topic = matcher.term.kind == "topic"
        hits = _term_hits(matcher, [j for _, j in group], text, low, sentence_of,
                          title_end if is_topic else -1)
        if not hits:
            continue
        if is_topic:
            if hits[0][0] < title_end or len(hits) >= 2:
                topics.append(matcher.term.slug)
        else:
            found.extend((s, e, number) for s, e in hits)

    kept: list[tuple[int, int, int]] = []
    for start, end, number in sorted(found, key=lambda f: (f[0] - f[1], f[0], f[2])):
        clashes = [k for k in kept if not (end <= k[0] or start >= k[1])]
        if all(matchers[k[2]].term.slug in ancestors[number] for k in clashes):
            # the longest of overlapping mentions wins, unless the shorter one is more specific
            kept = [k for k in kept if k not in clashes] + [(start, end, number)]
    first: dict[int, tuple[int, int]] = {}
    for start, end, number in sorted(kept):
        first.setdefault(number, (start, end))
    mentions = []
    for number in sorted(first):
        start, end = first[number]
        s, e = sentence_of(start)
        mentions.append(hardware_mention(matchers[number].term.slug, text, (s, e), start, min(end, e)))
    return topics, mentions


def _term_hits(matcher: _Matcher, phrases: list[int], text: str, low: str, sentence_of,
               title_end: int) -> list[tuple[int, int]]:
    """Distinct spans where a term's rules match (phrase numbers given; -1 is the regex).

    With `title_end` >= 0 (a topic) it stops as soon as the topic is decided.
    """
    hits: list[tuple[int, int]] = []
    for j in phrases:
        if j < 0:
            hits.extend(m.span() for m in matcher.regex.finditer(low) if m.end() > m.start())
        else:
            phrase = matcher.phrases[j]
            for start, end in _spans(phrase.pattern, low, text, capital_s=phrase.capital_s):
                if phrase.ambiguous:
                    s, e = sentence_of(start)
                    if not _spans(matcher.context, low, text, s, e):
                        continue
                hits.append((start, end))
        if title_end >= 0 and hits and not matcher.exclude:
            hits = _distinct(hits)
            if hits[0][0] < title_end or len(hits) >= 2:
                return hits
    if hits and matcher.exclude:
        excluded = _spans(matcher.exclude, low, text)
        hits = [(s, e) for s, e in hits if all(e <= xs or s >= xe for xs, xe in excluded)]
    return _distinct(hits)


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


def _warnings(papers: list[Paper], taxonomy: Taxonomy, used: set[str]) -> list[Diagnostic]:
    warnings = []
    for term in taxonomy.topics + taxonomy.hardware:
        if term.slug in used or any(d.slug in used for d in taxonomy.descendants(term.slug)):
            continue
        warnings.append(Diagnostic(
            taxonomy.source, term.line,
            f"{_describe(term)} matches no paper; check its phrases against the titles and "
            "abstracts, or remove the rule"))
    if taxonomy.topics:
        for paper in papers:
            if not paper.topics and paper.sources:
                where = paper.sources[0]
                warnings.append(Diagnostic(
                    where.file, where.line,
                    f"{paper.title!r} gets no topic; add a phrase from its title or abstract "
                    f"to a topic in {taxonomy.source}"))
    return warnings
