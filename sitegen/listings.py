"""Read listing files into entries that remember their file and line.

Two formats occur, detected per file:

* rich: page chrome, the listing date, then blank-line separated blocks: a title,
  an abstract, and a metadata block (`• 8 authors` or `handle Name`, `·`, `May 30 3`);
  some entries are a title alone;
* compact: page chrome, then alternating title and abstract lines, the first title glued
  to `Subscribe`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .diagnostics import BuildError, Diagnostic

CHROME_LINES = frozenset(
    {
        "new",
        "get trending papers in your email inbox!",
        "get trending papers in your email inbox once a day!",
        "subscribe",
        "daily papers",
        "trending papers",
        "byak and the research community",
    }
)
"""Lines of page chrome copied along with a listing (compared case-folded)."""

MONTHS = {m: i for i, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
_MONTH = r"(?P<month>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
_DATE_LINE = re.compile(_MONTH + r"\s+(?P<day>\d{1,2})(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<upvotes>\d+))?\s*$")
_AUTHORS = re.compile(r"^[•·*\-\s]*(?P<count>\d+)\s+authors?\s*$", re.IGNORECASE)
_SEPARATOR = "·"
_ORG = re.compile(r"^(?P<handle>[A-Za-z0-9][\w.\-]*)\s+(?P<name>\S.*)$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
SUBSCRIBE = "Subscribe"
_LONGEST_TITLE = 300
"""Longer lines are taken for abstracts where the format is ambiguous."""
_LINK = re.compile(r"(?:https?://|www\.)\S+|[\w-]+(?:\.[\w-]+)+/\S*|[-*•·>]|\d+[.)]|[(<\[]?https?://\S+")
"""A word of a list of links: a URL (with or without its scheme) or a list marker."""


@dataclass(frozen=True)
class Source:
    """Where an entry was read."""

    file: str
    """Listing path relative to the site root, with forward slashes."""
    line: int
    """1-based line of the entry's title."""


@dataclass(frozen=True)
class Organization:
    """The organisation shown instead of an author count."""

    handle: str
    """Account name, for example `nvidia`."""
    name: str
    """Display name, for example `NVIDIA`."""


@dataclass(frozen=True)
class Entry:
    """One paper as one listing shows it."""

    title: str
    source: Source
    abstract: str | None = None
    authors_count: int | None = None
    organization: Organization | None = None
    published: date | None = None
    """Publication date; None when the listing shows none or it could not be read."""
    published_year_inferred: bool = False
    """True when the year of `published` is the listing's inferred year."""
    upvotes: int | None = None


@dataclass(frozen=True)
class Listing:
    """A parsed listing file."""

    path: str
    """Path relative to the site root, with forward slashes."""
    stem: str
    """File name without extension; the listing's slug is derived from it."""
    format: str
    """`rich` or `compact`."""
    date: date | None
    """The listing's own date (rich format), None when it has none."""
    year: int | None
    """The year that dates without a year belong to."""
    year_inferred: bool
    """True when `year` was inferred from the listing rather than configured."""
    entries: tuple[Entry, ...]
    diagnostics: tuple[Diagnostic, ...] = field(default=())
    """Warnings about damaged entries; the entries are kept."""


@dataclass(frozen=True)
class _Line:
    number: int
    text: str


def decode(data: bytes, path: str) -> str:
    """Decode a listing as UTF-8 (BOM allowed) with `\\n` line ends, or raise BuildError."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        # error.object, not data: after a BOM, error.start counts from the end of the BOM.
        before = error.object[: error.start]
        raise BuildError(
            path, _line_ends(before, b"\r", b"\n") + 1,
            f"not valid UTF-8 (byte 0x{error.object[error.start]:02x}); "
            "save the file as UTF-8 or move it out of content/listings/",
        ) from None
    if "\x00" in text:
        line = _line_ends(text[: text.index("\x00")], "\r", "\n") + 1
        raise BuildError(path, line, "contains NUL bytes: this looks like a binary file, "
                         "not a listing; move it out of content/listings/")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _line_ends(text, cr, lf) -> int:
    """Line ends in `text` as the parser counts them: `\n`, `\r\n` and a lone `\r`."""
    return text.count(lf) + text.count(cr) - text.count(cr + lf)


def parse_listing(text: str, path: str, year: int | None = None) -> Listing:
    """Parse the text of one listing; `year` overrides the inferred year of undated entries."""
    lines = [_Line(n, t.strip()) for n, t in enumerate(_clean(text).split("\n"), 1)]
    body, listing_date = _skip_chrome(lines)
    stem = Path(path).stem
    if not any(line.text for line in body):
        return Listing(path, stem, "rich", None, year, False, (),
                       (Diagnostic(path, 1, "no papers in this listing; add papers or delete the file"),))
    is_compact = not any(not line.text or line.text == _SEPARATOR for line in _trim(body))
    if is_compact:
        entries, diagnostics = _without_links(*_parse_compact(_trim(body), path), path)
        return Listing(path, stem, "compact", None, year, False, tuple(entries), tuple(diagnostics))
    blocks = _blocks(body)
    explicit_years = [int(m["year"]) for b in blocks for ln in b
                      if (m := _DATE_LINE.match(ln.text)) and m["year"]]
    year_inferred = year is None
    if year is None and explicit_years:
        year = max(explicit_years) + 1
    if listing_date is not None and year is not None:
        listing_date = _make_date(year, listing_date[0], listing_date[1])
    else:
        listing_date = None
    entries, diagnostics = _without_links(*_parse_rich(blocks, path, year), path)
    return Listing(path, stem, "rich", listing_date, year, year_inferred and year is not None,
                   tuple(entries), tuple(diagnostics))


def _without_links(entries: list[Entry], diagnostics: list[Diagnostic], path: str
                   ) -> tuple[list[Entry], list[Diagnostic]]:
    """The entries less those that are links, not papers, each skipped with a warning: a title
    that is a URL or a run of URLs (a pasted reading list), an abstract of only URLs under a
    title with no metadata, and the heading of such a list (a title with nothing else just
    before it). Warnings of the parse about the skipped entries give way to these."""
    kept: list[Entry] = []
    skipped: list[tuple[Entry, ...]] = []
    for entry in entries:
        if _only_links(entry.title) or (entry.abstract and _only_links(entry.abstract) and not _has_metadata(entry)):
            heading = kept[-1] if kept and not kept[-1].abstract and not _has_metadata(kept[-1]) and \
                kept[-1].source.line < entry.source.line and not _only_links(kept[-1].title) else None
            if heading is not None and not (skipped and skipped[-1][-1].source.line > heading.source.line):
                kept.pop()
                skipped.append((heading, entry))
            else:
                skipped.append((entry,))
        else:
            kept.append(entry)
    if not skipped:
        return entries, diagnostics
    lines = {entry.source.line for group in skipped for entry in group}
    notes = [d for d in diagnostics if d.line not in lines]
    for group in skipped:
        first = group[0]
        what = (f"{_quote(first.title)} and the links under it are" if len(group) > 1
                else f"{_quote(first.title)} is" if _only_links(first.title)
                else f"the abstract of {_quote(first.title)} is")
        notes.append(Diagnostic(path, first.source.line, f"{what} a list of links, not a paper: skipped. A "
                                "listing holds copies of paper listing pages (title, abstract, metadata); "
                                "put a paper's links in its abstract or in a note (content/notes/SLUG.md)"))
    return kept, sorted(notes, key=lambda d: d.line)


def _only_links(text: str) -> bool:
    words = text.split()
    return any(_LINK.fullmatch(w) and "/" in w or w.startswith("www.") for w in words) and \
        all(_LINK.fullmatch(w) for w in words)


def _has_metadata(entry: Entry) -> bool:
    return any(v is not None for v in (entry.published, entry.upvotes, entry.authors_count, entry.organization))


def _clean(text: str) -> str:
    """Turn tabs and odd control characters (not line ends) into spaces."""
    return _CONTROL.sub(" ", text.replace("\t", " "))


def _skip_chrome(lines: list[_Line]) -> tuple[list[_Line], tuple[int, int] | None]:
    """Drop the page chrome at the top; return the rest and the listing's (month, day)."""
    listing_date = None
    for i, line in enumerate(lines):
        folded = line.text.casefold()
        if not line.text or folded in CHROME_LINES:
            continue
        match = _DATE_LINE.match(line.text)
        if listing_date is None and match and not match["upvotes"] and not match["year"]:
            listing_date = (MONTHS[match["month"][:3].lower()], int(match["day"]))
            continue
        rest = lines[i:]
        if line.text.startswith(SUBSCRIBE) and len(line.text) > len(SUBSCRIBE):
            rest[0] = _Line(line.number, line.text[len(SUBSCRIBE):].strip())
        return rest, listing_date
    return [], listing_date


def _trim(lines: list[_Line]) -> list[_Line]:
    """Drop blank lines at both ends."""
    start, end = 0, len(lines)
    while start < end and not lines[start].text:
        start += 1
    while end > start and not lines[end - 1].text:
        end -= 1
    return lines[start:end]


def _blocks(lines: list[_Line]) -> list[list[_Line]]:
    """Group lines into runs of non-blank lines."""
    blocks: list[list[_Line]] = []
    current: list[_Line] = []
    for line in lines:
        if line.text:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _is_metadata(block: list[_Line]) -> bool:
    if any(line.text == _SEPARATOR for line in block):
        return True
    return any(_AUTHORS.match(line.text) or _DATE_LINE.match(line.text) for line in block) and (
        len(block) > 1 or len(block[0].text) < 40)


def _parse_compact(lines: list[_Line], path: str) -> tuple[list[Entry], list[Diagnostic]]:
    """Alternating title and abstract lines; the shape of each line keeps the pairs in step.

    A short line where an abstract should be is the next title (the one before lost its
    abstract); a long prose line where a title should be is an abstract whose title is missing.
    """
    entries, diagnostics = [], []
    title: _Line | None = None
    for line in lines:
        if title is None:
            if len(line.text) > _LONGEST_TITLE and _looks_like_abstract(line.text):
                diagnostics.append(Diagnostic(
                    path, line.number, "this reads like an abstract but has no title before it; "
                    "add the paper's title on the line above (it is skipped until then)"))
            else:
                title = line
        elif _looks_like_abstract(line.text):
            entries.append(Entry(title.text, Source(path, title.number), abstract=line.text))
            title = None
        else:
            entries.append(Entry(title.text, Source(path, title.number)))
            diagnostics.append(_no_abstract(path, title))
            title = line
    if title is not None:
        entries.append(Entry(title.text, Source(path, title.number)))
        diagnostics.append(_no_abstract(path, title))
    return entries, diagnostics


def _no_abstract(path: str, title: _Line) -> Diagnostic:
    return Diagnostic(path, title.number, f"title {_quote(title.text)} has no abstract after it "
                      "(a line lost in the copy?); the paper is kept without one")


def _parse_rich(blocks: list[list[_Line]], path: str, year: int | None
                ) -> tuple[list[Entry], list[Diagnostic]]:
    entries: list[Entry] = []
    diagnostics: list[Diagnostic] = []
    texts: list[_Line] = []  # single-line blocks waiting for their metadata
    for block in blocks:
        if not _is_metadata(block):
            texts.append(block[0] if len(block) == 1 else _join(block))
            continue
        if not texts:
            diagnostics.append(Diagnostic(
                path, block[0].number,
                "metadata with no title before it; put the paper's title and abstract above it"))
            continue
        *before, (title, abstract) = _pair(texts, ends_at_metadata=True)
        entries.extend(_entry(t, a, path) for t, a in before)
        if abstract is None:
            diagnostics.append(Diagnostic(
                path, title.number, f"paper {_quote(title.text)} has metadata but no abstract; "
                "it is kept without one"))
        meta, problems = _parse_metadata(block, path, year)
        diagnostics.extend(problems)
        entries.append(_entry(title, abstract, path, **meta))
        texts = []
    trailing = _pair(texts, ends_at_metadata=False)
    entries.extend(_entry(t, a, path) for t, a in trailing)
    if trailing and trailing[-1][1] is None:
        title = trailing[-1][0]
        diagnostics.append(Diagnostic(
            path, title.number, f"title {_quote(title.text)} at the end of the file has "
            "no abstract or metadata (truncated copy?); the paper is kept without them"))
    return entries, diagnostics


def _entry(title: _Line, abstract: _Line | None, path: str, **meta) -> Entry:
    return Entry(title.text, Source(path, title.number),
                 abstract=abstract.text if abstract else None, **meta)


def _join(block: list[_Line]) -> _Line:
    """A paragraph broken over several lines is one text."""
    return _Line(block[0].number, " ".join(line.text for line in block))


def _pair(texts: list[_Line], ends_at_metadata: bool) -> list[tuple[_Line, _Line | None]]:
    """Split a run of text blocks into (title, abstract) pairs; a title may stand alone.

    A text is taken as the abstract of the title before it when it reads like prose,
    and the last text of a run that ends at a metadata block always is.
    """
    pairs: list[tuple[_Line, _Line | None]] = []
    i = 0
    while i < len(texts):
        has_next = i + 1 < len(texts)
        if has_next and (_looks_like_abstract(texts[i + 1].text) or (ends_at_metadata and i + 2 == len(texts))):
            pairs.append((texts[i], texts[i + 1]))
            i += 2
        else:
            pairs.append((texts[i], None))
            i += 1
    return pairs


def _looks_like_abstract(text: str) -> bool:
    """Abstracts are prose: long, or made of sentences; titles are short and rarely end in a full stop."""
    return len(text) > 200 or (len(text) > 40 and (". " in text or text.endswith(".")))


def _parse_metadata(block: list[_Line], path: str, year: int | None
                    ) -> tuple[dict, list[Diagnostic]]:
    meta: dict = {}
    problems = []
    dated = False
    for line in block:
        text = line.text
        if text == _SEPARATOR:
            continue
        if match := _AUTHORS.match(text):
            meta["authors_count"] = int(match["count"])
        elif match := _DATE_LINE.match(text):
            dated = True
            month, day = MONTHS[match["month"][:3].lower()], int(match["day"])
            explicit = match["year"]
            use_year = int(explicit) if explicit else year
            if match["upvotes"]:
                meta["upvotes"] = int(match["upvotes"])
            if _make_date(use_year or 2000, month, day) is None:  # 2000: a leap year
                problems.append(Diagnostic(path, line.number, f"{_quote(text)} is not a real date; "
                                           "fix the day or month"))
                continue
            if use_year is None:
                problems.append(Diagnostic(
                    path, line.number, f"date {_quote(text)} has no year and the listing gives "
                    "none to infer; set `year` for this listing in sitegen.toml"))
                continue
            published = _make_date(use_year, month, day)
            if published is None:
                problems.append(Diagnostic(path, line.number, f"{_quote(text)} is not a real date; "
                                           "fix the day or month"))
                continue
            meta["published"] = published
            meta["published_year_inferred"] = not explicit
        elif line is block[0] and (match := _ORG.match(text)):
            meta["organization"] = Organization(match["handle"], match["name"].strip())
        else:
            problems.append(Diagnostic(
                path, line.number, f"cannot read metadata line {_quote(text)}; expected "
                "'• 8 authors' or 'handle Name', then '·', then a date and upvotes like 'May 30 3'"))
    if not dated:  # every metadata block the listing pages show ends with a date line
        problems.append(Diagnostic(
            path, block[0].number, "metadata without a date line such as 'May 30 3' (truncated "
            "copy?); the paper is kept undated"))
    return meta, problems


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _quote(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def read_listings(listings_dir: Path, root: Path, years: dict[str, int],
                  known: dict[tuple, Listing] | None = None) -> list[Listing]:
    """Parse every `*.txt` listing under `listings_dir`, in file name order.

    `years` maps a listing's file name to the year its undated entries belong to.
    Raises BuildError for a file that cannot be read as a listing. `known` holds listings
    parsed before, by path, bytes and year (the preview server keeps it between builds):
    only new and changed files are parsed; afterwards it holds this build's listings.
    """
    found: dict[tuple, Listing] = {}
    if not listings_dir.is_dir():
        raise BuildError(_relative(listings_dir, root), 0,
                         f"no listings directory (looked for {listings_dir.absolute()}); create it and put "
                         "listing .txt files in it, or give --source the site's folder, or start a new "
                         "site with sitegen init DIR")
    for link in sorted(p for p in listings_dir.rglob("*") if p.is_symlink() and p.is_dir()):
        real = link.resolve()
        if not real.is_relative_to(listings_dir.resolve()):  # rglob would skip it without a word
            raise BuildError(_relative(link, root), 1, f"is a symlink to the folder {real}, outside "
                             f"{_relative(listings_dir, root)}; copy the listings in instead of linking to them")
    listings = []
    for file in sorted(listings_dir.rglob("*.txt")):
        shown = _relative(file, root)
        real = file.resolve()
        if not real.is_relative_to(listings_dir.resolve()):
            raise BuildError(shown, 1, f"is a symlink to {real}, outside {_relative(listings_dir, root)}; "
                             "copy the file in instead of linking to it")
        if real.is_dir():
            continue  # a folder named like a listing: rglob reads the files inside it
        if real.exists() and not real.is_file():
            raise BuildError(shown, 1, "is not a regular file (a FIFO, socket or device?); "
                             "listings must be plain text files: remove it from content/listings/")
        try:
            data = file.read_bytes()
        except OSError as error:
            raise BuildError(shown, 1, f"cannot be read ({error.strerror}); check its permissions") from None
        key = (shown, hashlib.sha256(data).digest(), years.get(file.name))
        listing = known.get(key) if known is not None else None
        if listing is None:
            text = decode(data, shown)
            listing = parse_listing(text, shown, years.get(file.name))
            if text.strip() and not listing.entries:
                first = listing.diagnostics[0] if listing.diagnostics else None
                raise BuildError(shown, first.line if first else 1, "not a listing: no paper title found"
                                 + (f" ({first.message})" if first else "") + "; see the README for the two "
                                 "listing formats, or move the file out of content/listings/")
        found[key] = listing
        listings.append(listing)
    if known is not None:
        known.clear()
        known.update(found)
    return listings


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
