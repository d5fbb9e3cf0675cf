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
_NON_WORD = re.compile(r"[\W_]+")


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
    metadata: PaperMetadata | None = None
    """arXiv id, authors and date from `content/metadata.toml` or the listing (sitegen.metadata)."""
    published_on_arxiv: bool = False
    """True when `published` is the first arXiv version's date, the listings giving none."""

    @property
    def year(self) -> int | None:
        return self.published.year if self.published else None


TITLES_KEPT = 1 << 16
"""Titles whose key and slug are remembered: the preview's rebuilds merge the same titles again."""


@lru_cache(maxsize=TITLES_KEPT)
def title_key(title: str) -> str:
    """Fold case, punctuation and white space so that copies of a title compare equal."""
    text = unicodedata.normalize("NFKC", title).casefold()
    return _NON_WORD.sub(" ", text).strip()


@lru_cache(maxsize=TITLES_KEPT)
def slugify(text: str) -> str:
    """ASCII, lower-case, dash-separated; empty when nothing readable is left."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX].rsplit("-", 1)[0]
    return slug


def unique_slugs(keys_and_names: list[tuple[str, str]], prefix: str) -> dict[str, str]:
    """Give each key a unique slug from its name, in the order given.

    A name with nothing sluggable gets `<prefix>-<hash of key>`; a collision gets `-2`, `-3`...
    """
    slugs: dict[str, str] = {}
    taken: set[str] = set()
    next_suffix: dict[str, int] = {}  # per base, the first suffix not yet known to be taken
    for key, name in keys_and_names:
        base = slugify(name) or f"{prefix}-{hashlib.sha1(key.encode()).hexdigest()[:8]}"
        slug, n = base, next_suffix.get(base, 2)
        while slug in taken:
            slug, n = f"{base}-{n}", n + 1
        next_suffix[base] = n  # the suffixes before n are taken for good: linear, not quadratic
        taken.add(slug)
        slugs[key] = slug
    return slugs


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
