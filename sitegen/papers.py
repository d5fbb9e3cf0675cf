"""The Paper model: entries from several listings merged into one paper each."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache
from typing import TYPE_CHECKING

from .diagnostics import Diagnostic
from .links import Link, find_links
from .listings import Entry, Listing, Organization, Source

if TYPE_CHECKING:
    from .metadata import PaperMetadata

SLUG_MAX = 80


@dataclass(frozen=True)
class HardwareMention:
    """A hardware term found in a paper, with the sentence that names it."""

    slug: str
    """Slug of the hardware term."""
    sentence: str
    """The sentence of the abstract or title that mentions it."""
    start: int
    """Offset of the mention in `sentence`."""
    end: int
    """Offset just past the mention in `sentence`."""


EVIDENCE_SENTENCE_MAX = 1000
"""Longest sentence kept whole as a hardware mention's evidence; of a longer one (an abstract
without full stops), `EVIDENCE_CONTEXT` characters on either side of the mention. The sentence
is shown on the paper's page and on up to eight term pages: it must not copy a huge abstract."""
EVIDENCE_CONTEXT = 240


def hardware_mention(slug: str, text: str, sentence: tuple[int, int], start: int, end: int) -> HardwareMention:
    """The mention `text[start:end]` of hardware `slug` with its sentence `text[s:e]`, cut to
    `EVIDENCE_CONTEXT` characters on either side at word boundaries (`…` marks a cut) when it
    is longer than `EVIDENCE_SENTENCE_MAX`."""
    s, e = sentence
    if e - s <= EVIDENCE_SENTENCE_MAX:
        return HardwareMention(slug, text[s:e], start - s, end - s)
    # One character past the limit tells `shorten` there is more; the text before the mention
    # is shortened from its end, so it is reversed and back.
    before = shorten(text[max(s, start - EVIDENCE_CONTEXT - 1): start][::-1], EVIDENCE_CONTEXT)[::-1]
    after = shorten(text[end: min(e, end + EVIDENCE_CONTEXT + 1)], EVIDENCE_CONTEXT)
    return HardwareMention(slug, before + text[start:end] + after, len(before), len(before) + end - start)


def shorten(text: str, limit: int) -> str:
    """`text` if it has at most `limit` characters, else its start cut at a word boundary
    (mid-word only when the last half holds no space) and ended with `…`, `limit` in all."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip() + "…"


@dataclass(frozen=True)
class Paper:
    """A paper, merged from every listing that shows it."""

    slug: str
    """URL segment: `papers/<slug>/`; unique and stable for a title."""
    key: str
    """Identity: the title with case, punctuation and white space folded."""
    title: str
    abstract: str | None
    published: date | None
    published_year_inferred: bool
    """True when the year of `published` was inferred for its listing."""
    upvotes: int | None
    authors_count: int | None
    organization: Organization | None
    links: tuple[Link, ...]
    """Links found in the abstract, in order of appearance."""
    sources: tuple[Source, ...]
    """Every listing place the paper was read from, in file and line order."""
    listings: tuple[str, ...]
    """Slugs of the listings that show the paper."""
    topics: tuple[str, ...] = ()
    """Topic slugs, filled by classification."""
    hardware: tuple[HardwareMention, ...] = ()
    """Hardware mentions, filled by classification."""
    inferred_topics: tuple[str, ...] = ()
    """For a paper no topic rule tags: the topics its most similar papers share (`taxonomy.infer`)."""
    metadata: PaperMetadata | None = None
    """arXiv id, authors and date from `content/metadata.toml` or the listing (sitegen.metadata)."""
    published_on_arxiv: bool = False
    """True when `published` is the first arXiv version's date, the listings giving none."""

    @property
    def year(self) -> int | None:
        return self.published.year if self.published else None


TITLES_KEPT = 1 << 16
"""Titles whose key and slug are remembered: the preview's rebuilds merge the same titles again."""

_SEPARATOR_CATEGORIES = frozenset({"Zs", "Zl", "Zp", "Cc", "Pd", "Pc", "Pi", "Pf", "Ps", "Pe"})
"""White space, control characters, dashes, connectors (`_`), quotes and brackets."""
_SEPARATOR_CHARS = frozenset(""""'`.,:;·…""")
"""Other punctuation that copies of a title differ by. Everything else (`+ # ? ! & % * / @`...)
changes what a title says, and stays in its key."""


@lru_cache(maxsize=TITLES_KEPT)
def title_key(title: str) -> str:
    """The identity of a title: its copies have the same key, different papers different keys.

    Folds what copies of a title differ by: Unicode forms (NFKC), case, white space, dashes,
    colons, quotes, brackets and similar separators; format characters (soft hyphens, zero-width
    spaces) are dropped. Keeps what changes the meaning: `C++` and `C#` differ, and so do
    "Attention Is All You Need", "...Need?" and "...Need!".
    """
    text = unicodedata.normalize("NFKC", title).casefold()
    return " ".join("".join(map(_fold_char, text)).split())


def _fold_char(char: str) -> str:
    category = unicodedata.category(char)
    if category in _SEPARATOR_CATEGORIES or char in _SEPARATOR_CHARS:
        return " "
    return "" if category == "Cf" else char


@lru_cache(maxsize=TITLES_KEPT)
def slugify(text: str) -> str:
    """ASCII, lower-case, dash-separated; empty when nothing readable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX].rsplit("-", 1)[0]
    return slug


_PLAIN_KEY = re.compile(r"[a-z0-9]+(?: [a-z0-9]+)*")
_HASH_LENGTHS = (6, 12, 64)
"""Hex digits of the key's SHA-256 in a slug; longer only when a shorter one is taken."""


def unique_slugs(keys_and_names: list[tuple[str, str]], prefix: str) -> dict[str, str]:
    """Give each key a unique slug that depends on its own name and key, not on the others.

    A name whose `title_key` is plain (ASCII letters, digits and spaces, at most `SLUG_MAX`
    characters) gets that key with dashes: `Model: A Study` -> `model-a-study`. Any other name
    gets its slug and a hash of its key, `c-templates-for-gpus-1a2b3c`, or `<prefix>-1a2b3c`
    when nothing is sluggable. So a paper keeps its URL when others come and go. Only when two
    keys want the same slug (two names with the same plain key, or equal short hashes) does
    the one later in key order take the next candidate: a longer hash, then a counter.
    """
    slugs: dict[str, str] = {}
    taken: set[str] = set()
    pending = sorted(keys_and_names)
    for tier in range(len(_HASH_LENGTHS) + 1):
        left = []
        for key, name in pending:
            slug = _slug_candidate(key, name, prefix, tier)
            if slug is None or slug in taken:
                left.append((key, name))
                continue
            taken.add(slug)
            slugs[key] = slug
        pending = left
    for key, name in pending:  # the whole hash is taken: never seen, but slugs must be unique
        base, n = _slug_candidate(key, name, prefix, len(_HASH_LENGTHS)), 2
        while f"{base}-{n}" in taken:
            n += 1
        taken.add(f"{base}-{n}")
        slugs[key] = f"{base}-{n}"
    return slugs


def _slug_candidate(key: str, name: str, prefix: str, tier: int) -> str | None:
    """Tier 0: the plain slug, if the name has one; then slug and ever longer hashes of the key.

    Both come from the name's `title_key`, so copies of a title that differ in case or
    spelling of the separators (`ß` and `SS`...) give the same slug.
    """
    folded = title_key(name)
    if tier == 0:
        plain = len(folded) <= SLUG_MAX and _PLAIN_KEY.fullmatch(folded)
        return folded.replace(" ", "-") if plain else None
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{slugify(folded) or prefix}-{digest[:_HASH_LENGTHS[tier - 1]]}"


def listing_slugs(listings: list[Listing]) -> dict[str, str]:
    """Listing path -> slug."""
    return unique_slugs([(listing.path, listing.stem) for listing in listings], "listing")


def merge(listings: list[Listing], known: dict[tuple, tuple] | None = None
          ) -> tuple[list[Paper], list[Diagnostic]]:
    """Merge the entries of all listings into papers, newest first.

    Fields one listing lacks are filled from another; a real conflict (two different
    values) keeps the larger or first value and is reported with both places. `known` holds
    papers merged before, by slug and entries (the preview server keeps it between builds):
    an unchanged paper is the same object as in the last build; afterwards it holds this build's.
    """
    by_listing = listing_slugs(listings)
    groups: dict[str, list[tuple[Entry, str]]] = {}
    diagnostics: list[Diagnostic] = []
    for listing in listings:
        for entry in listing.entries:
            key = title_key(entry.title)
            if not key:
                key = "untitled " + entry.title
            groups.setdefault(key, []).append((entry, by_listing[listing.path]))
    slugs = unique_slugs(sorted((key, group[0][0].title) for key, group in groups.items()), "paper")
    papers = []
    found: dict[tuple, tuple] = {}
    for key, group in groups.items():
        memo = (key, slugs[key], tuple(group))
        merged = known.get(memo) if known is not None else None
        found[memo] = merged = merged or _merge_group(*memo)
        paper, problems = merged
        papers.append(paper)
        diagnostics.extend(problems)
    if known is not None:
        known.clear()
        known.update(found)
    papers.sort(key=paper_order)
    return papers, diagnostics


def paper_order(paper: Paper) -> tuple:
    """Newest first; undated papers last; then by title."""
    return (paper.published is None, -(paper.published.toordinal() if paper.published else 0),
            paper.key, paper.slug)


def _merge_group(key: str, slug: str, group: tuple[tuple[Entry, str], ...]) -> tuple[Paper, list[Diagnostic]]:
    entries = [entry for entry, _ in group]
    problems: list[Diagnostic] = []
    first = entries[0]
    abstract = max((e.abstract for e in entries if e.abstract), key=len, default=None)

    def pick(field: str, prefer=None):
        valued = [e for e in entries if getattr(e, field) is not None]
        if not valued:
            return None, None
        values = {getattr(e, field) for e in valued}
        chosen = prefer(valued) if prefer else valued[0]
        if len(values) > 1:
            a, b = valued[0], next(e for e in valued if getattr(e, field) != getattr(valued[0], field))
            problems.append(Diagnostic(
                b.source.file, b.source.line,
                f"{field.replace('_', ' ')} of {first.title!r} is {_show(getattr(b, field))} here but "
                f"{_show(getattr(a, field))} at {a.source.file}:{a.source.line}; keeping "
                f"{_show(getattr(chosen, field))}. Make the listings agree to silence this"))
        return getattr(chosen, field), chosen

    problems.extend(_abstract_conflicts(entries, abstract))
    upvotes, _ = pick("upvotes", lambda es: max(es, key=lambda e: e.upvotes))
    authors_count, _ = pick("authors_count")
    organization, _ = pick("organization")
    published, dated = pick("published", lambda es: min(es, key=lambda e: e.published_year_inferred))
    paper = Paper(
        slug=slug,
        key=key,
        title=first.title,
        abstract=abstract,
        published=published,
        published_year_inferred=bool(dated and dated.published_year_inferred),
        upvotes=upvotes,
        authors_count=authors_count,
        organization=organization,
        links=tuple(find_links(abstract)) if abstract else (),
        sources=tuple(sorted({e.source for e in entries}, key=lambda s: (s.file, s.line))),
        listings=tuple(sorted({listing for _, listing in group})),
    )
    return paper, problems


def _abstract_conflicts(entries: list[Entry], kept: str | None) -> list[Diagnostic]:
    """A warning for each entry whose abstract is not the kept one, nor a shorter copy of it."""
    if kept is None:
        return []
    holder = next(e for e in entries if e.abstract == kept)
    whole = _copy_text(kept)
    problems = []
    for entry in entries:
        if entry.abstract and entry.abstract != kept and not whole.startswith(_copy_text(entry.abstract)):
            problems.append(Diagnostic(
                entry.source.file, entry.source.line,
                f"abstract of {entry.title!r} here differs from the one at {holder.source.file}:"
                f"{holder.source.line}; keeping the longer one. If these are two papers, make their "
                "titles differ; if one, make the listings agree"))
    return problems


def _copy_text(abstract: str) -> str:
    """What a copy of an abstract keeps: its words, without the `...` of a truncated copy."""
    return " ".join(abstract.split()).removesuffix("…").removesuffix("...").rstrip()


def _show(value) -> str:
    if isinstance(value, Organization):
        return value.name
    return str(value)


def with_fields(paper: Paper, **changes) -> Paper:
    """A copy of `paper` with some fields changed (papers are immutable).

    What `dataclasses.replace` does for a dataclass without `__post_init__`, in a quarter of
    the time (it runs for every paper in each stage that fills a field).
    """
    unknown = changes.keys() - _PAPER_FIELDS
    if unknown:
        raise TypeError(f"Paper has no field {sorted(unknown)[0]!r}")
    copy = object.__new__(Paper)
    copy.__dict__.update(paper.__dict__, **changes)
    return copy


_PAPER_FIELDS = frozenset(field.name for field in fields(Paper))
