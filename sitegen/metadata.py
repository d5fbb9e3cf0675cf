"""Paper metadata kept in the repository: arXiv ids, authors and dates by title.

`content/metadata.toml` holds one `[[paper]]` table per paper, written by `sitegen resolve`
(sitegen/resolve.py) and edited by hand. The build reads it here and never the network: an
entry is matched to its paper by title, and an arXiv id found in the listing itself serves
where the file has no entry.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import tomllib
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from urllib.parse import urlencode

from .diagnostics import BuildError, Diagnostic
from .papers import Paper, paper_order, title_key, with_fields

METADATA_FILE = "content/metadata.toml"
STATUSES = ("not-found", "ambiguous")
"""What an entry without an id says about the look-up."""

ARXIV_ID = re.compile(r"(\d{4}\.\d{4,5}|[a-z][a-z-]*(?:\.[A-Z]{2})?/\d{7})")
"""A new-style (`2411.19146`) or old-style (`hep-th/9901001`) arXiv id, without version."""
_ID_ONLY = re.compile(ARXIV_ID.pattern + r"\Z")
_CATEGORY = re.compile(r"[a-z][a-z-]*(\.[A-Za-z-]+)?\Z")
_ID_IN_URL = re.compile(r"https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf|html)/" + ARXIV_ID.pattern
                        + r"(?:v\d+)?(?:\.pdf)?/?\Z|https?://(?:www\.)?(?:huggingface|hf)\.co/papers/"
                        + r"(\d{4}\.\d{4,5})(?:v\d+)?/?\Z", re.IGNORECASE)
_ID_IN_TEXT = re.compile(r"\barXiv:\s?(\d{4}\.\d{4,5})(?:v\d+)?\b", re.IGNORECASE)


@dataclass(frozen=True)
class Candidate:
    """A near match a look-up found, for a curator to choose from."""

    arxiv: str
    title: str


@dataclass(frozen=True)
class PaperMetadata:
    """One `[[paper]]` table: what is known about a paper besides the listings."""

    title: str
    """Matched to the listings' titles by `match_key`."""
    arxiv: str | None = None
    """arXiv id without version, e.g. `2411.19146`."""
    version: int | None = None
    """The latest arXiv version when it was looked up."""
    authors: tuple[str, ...] = ()
    """In the paper's order."""
    published: date | None = None
    """Date of the first arXiv version."""
    category: str | None = None
    """Primary arXiv category, e.g. `cs.LG`."""
    source: str | None = None
    """Where it was found: `arXiv API`, a repository path, `listing`..."""
    checked: date | None = None
    """When it was looked up (data: the build never reads the clock)."""
    pinned: bool = False
    """`sitegen resolve` never changes a pinned entry."""
    status: str | None = None
    """For an entry without id: one of STATUSES."""
    candidates: tuple[Candidate, ...] = ()
    """Near matches of an ambiguous entry."""
    line: int = field(default=0, compare=False)
    """Line of the entry's `[[paper]]` in the file (0 when not read from one)."""

    @property
    def abs_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else None

    @property
    def pdf_url(self) -> str | None:
        return f"https://arxiv.org/pdf/{self.arxiv}" if self.arxiv else None

    @property
    def hf_url(self) -> str | None:
        return f"https://huggingface.co/papers/{self.arxiv}" if self.arxiv else None


# --- Titles ---------------------------------------------------------------------------------

_LATEX_ACCENT = re.compile(r"""\\[`'^"~=.uvHckbdr]\s*\{?\s*([A-Za-z])\}?""")
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+)\s*")
_LATEX_SYMBOL = re.compile(r"\\(.)")


def match_key(title: str) -> str:
    """`title_key` after LaTeX (`$...$`, `\\emph{}`, braces, `\\alpha`) and accents are folded:
    the arXiv and listing spellings of a title compare equal."""
    text = _LATEX_ACCENT.sub(r"\1", title)
    text = _LATEX_COMMAND.sub(_latex_command, text)
    text = _LATEX_SYMBOL.sub(r"\1", text).replace("$", "").replace("{", "").replace("}", "")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return title_key(text)


def _latex_command(match: re.Match) -> str:
    """`\\alpha` -> `α`; `\\emph` and other commands vanish, their arguments stay."""
    name = match[1]
    case = "CAPITAL" if name[0].isupper() else "SMALL"
    try:
        return unicodedata.lookup(f"GREEK {case} LETTER {name.upper()}")
    except KeyError:
        return " " if match[0].endswith((" ", "\t", "\n")) and name not in _FORMATTING else ""


_FORMATTING = frozenset({"emph", "textbf", "textit", "texttt", "textsc", "textrm", "mathrm", "mathbf",
                         "mathcal", "mathbb", "mathit", "boldsymbol", "text", "bf", "it", "em", "rm"})


# --- Reading --------------------------------------------------------------------------------

_FIELDS = ("title", "arxiv", "version", "authors", "published", "category", "source", "checked",
           "pinned", "status", "candidates")
_HEADER = re.compile(r"\s*\[\[\s*paper\s*\]\]")


def read_metadata(path: Path, label: str = METADATA_FILE) -> dict[str, PaperMetadata]:
    """The entries of the metadata file at `path` by `match_key` of their title; {} without file.

    A problem raises BuildError(`label`, line, what is wrong and how to fix it).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as error:
        raise BuildError(label, 0, f"cannot be read ({error.strerror}); fix its permissions") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise BuildError(label, line, "is not UTF-8; save it as UTF-8") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        match = re.search(r"line (\d+)", str(error))
        raise BuildError(label, int(match[1]) if match else 0,
                         f"not valid TOML ({error}); fix the syntax, e.g. put text in quotes") from None
    unknown = sorted(set(document) - {"paper"})
    if unknown:
        raise BuildError(label, _key_line(text.split("\n"), 0, None, unknown[0]),
                         f"unknown key {unknown[0]!r}; the file holds only [[paper]] tables")
    tables = document.get("paper", [])
    if not isinstance(tables, list) or not all(isinstance(t, dict) for t in tables):
        raise BuildError(label, 0, "`paper` must be an array of tables: write each entry under [[paper]]")
    lines = text.split("\n")
    starts = [number for number, line in enumerate(lines, 1) if _HEADER.match(line)]
    if len(starts) != len(tables):
        starts = [0] * len(tables)  # written some other way (inline tables): no line numbers
    entries: dict[str, PaperMetadata] = {}
    for index, (table, start) in enumerate(zip(tables, starts)):
        end = starts[index + 1] if index + 1 < len(starts) and starts[index + 1] else None
        entry = record_from_table(table, label, start, lambda key: _key_line(lines, start, end, key))
        key = match_key(entry.title)
        if key in entries:
            raise BuildError(label, start, f"a second entry for the title {entry.title!r} (the first is at "
                             f"line {entries[key].line}); keep one of them")
        entries[key] = entry
    return entries


def _key_line(lines: list[str], start: int, end: int | None, key: str) -> int:
    """The line of `key = ...` in the table that starts at line `start` (1-based), else `start`."""
    pattern = re.compile(rf'\s*(\[\[?\s*)?"?{re.escape(key)}"?\s*[=\].]')
    for number in range(max(start, 1), (end or len(lines) + 1)):
        if pattern.match(lines[number - 1]):
            return number
    return start


def record_from_table(table: Mapping, label: str, line: int = 0, key_line=None,
                      dates_as_text: bool = False) -> PaperMetadata:
    """A checked PaperMetadata from a table of the file (or a record with the same keys).

    `key_line(key)` gives a key's line for messages. With `dates_as_text`, dates may also be
    ISO strings (`"2024-11-28"`), as in JSON records.
    """
    where = key_line or (lambda key: line)
    name = repr(table["title"]) if isinstance(table.get("title"), str) else "this entry"

    def fail(key: str, message: str):
        raise BuildError(label, where(key), f"{key} of {name}: {message}")

    unknown = sorted(set(table) - set(_FIELDS))
    if unknown:
        fail(unknown[0], f"unknown key; an entry takes {', '.join(_FIELDS)}")
    title = table.get("title")
    if not isinstance(title, str) or not match_key(title):
        raise BuildError(label, line, "an entry without a title; add title = \"...\" as the listing spells it")

    def text(key: str, pattern: re.Pattern | None = None, example: str = "") -> str | None:
        value = table.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or not value.strip() or (pattern and not pattern.match(value)):
            fail(key, f"{value!r} is not valid; write it as {example}")
        return value

    def day(key: str) -> date | None:
        value = table.get(key)
        if dates_as_text and isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                pass
        if value is None or (isinstance(value, date) and not hasattr(value, "hour")):
            return value
        fail(key, f"{value!r} is not a date; write it without quotes, e.g. {key} = 2024-11-28")

    arxiv = text("arxiv", _ID_ONLY, 'an id without version, e.g. arxiv = "2411.19146" (and version = 2)')
    version = table.get("version")
    if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
        fail("version", f"{version!r} is not a version number; write e.g. version = 2")
    authors = table.get("authors", [])
    if not isinstance(authors, list) or not all(isinstance(a, str) and a.strip() for a in authors):
        fail("authors", 'must be a list of names in quotes, e.g. authors = ["Ada Lovelace", "Alan Turing"]')
    pinned = table.get("pinned", False)
    if not isinstance(pinned, bool):
        fail("pinned", "must be true or false")
    status = text("status", None, " or ".join(f'"{s}"' for s in STATUSES))
    if status is not None and status not in STATUSES:
        fail("status", f"{status!r} is not one of {', '.join(STATUSES)}")
    if status and arxiv:
        fail("status", "an entry with an arxiv id is resolved; remove status (and candidates)")
    candidates = table.get("candidates", [])
    if (not isinstance(candidates, list)
            or not all(isinstance(c, dict) and set(c) == {"arxiv", "title"} and isinstance(c["title"], str)
                       and isinstance(c["arxiv"], str) and _ID_ONLY.match(c["arxiv"]) for c in candidates)):
        fail("candidates", 'must be a list like [{arxiv = "2411.19146", title = "..."}]')
    return PaperMetadata(
        title=title, arxiv=arxiv, version=version, authors=tuple(a.strip() for a in authors),
        published=day("published"), category=text("category", _CATEGORY, 'a category such as "cs.LG"'),
        source=text("source"), checked=day("checked"), pinned=pinned, status=status,
        candidates=tuple(Candidate(c["arxiv"], c["title"]) for c in candidates), line=line)


# --- Writing --------------------------------------------------------------------------------

HEADER = """\
# Paper metadata: written by `sitegen resolve`; edit by hand to set, correct or pin a paper.
# One [[paper]] table per paper, sorted by title. `title` is matched to the listings' titles
# (case, punctuation, spacing, accents and LaTeX aside). `arxiv` is the id without version;
# `published` is the date of the first arXiv version; `checked` is when it was looked up.
# `pinned = true` keeps `sitegen resolve` from changing an entry. Unresolved entries say
# status = "not-found" or "ambiguous" (with the candidates found); set `arxiv` to resolve one.
"""

_INLINE_AUTHORS = 100
"""Longest `authors = [...]` line kept on one line; longer lists take a line per name."""


def format_metadata(records: Iterable[PaperMetadata]) -> str:
    """The text of a metadata file holding `records`, sorted by title: same records, same text."""
    ordered = sorted(records, key=lambda r: (match_key(r.title), r.title))
    seen: dict[str, str] = {}
    for record in ordered:
        key = match_key(record.title)
        if key in seen:
            raise ValueError(f"two records for the same title: {seen[key]!r} and {record.title!r}")
        seen[key] = record.title
    return HEADER + "".join("\n" + _table(record) for record in ordered)


def _table(record: PaperMetadata) -> str:
    lines = ["[[paper]]", f"title = {_string(record.title)}"]
    if record.arxiv:
        lines.append(f"arxiv = {_string(record.arxiv)}")
    if record.version:
        lines.append(f"version = {record.version}")
    if record.authors:
        names = [_string(name) for name in record.authors]
        one_line = f"authors = [{', '.join(names)}]"
        lines.append(one_line if len(one_line) <= _INLINE_AUTHORS
                     else "authors = [\n" + "".join(f"  {name},\n" for name in names) + "]")
    for key in ("published", "category", "source", "checked"):
        value = getattr(record, key)
        if value is not None:
            lines.append(f"{key} = {value.isoformat() if isinstance(value, date) else _string(value)}")
    if record.pinned:
        lines.append("pinned = true")
    if record.status:
        lines.append(f"status = {_string(record.status)}")
    if record.candidates:
        lines.append("candidates = [\n" + "".join(
            f"  {{arxiv = {_string(c.arxiv)}, title = {_string(c.title)}}},\n" for c in record.candidates) + "]")
    return "\n".join(lines) + "\n"


def _string(value: str) -> str:
    """A TOML basic string: JSON's escapes are TOML's, but for DEL."""
    return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")


def write_metadata(path: Path, records: Iterable[PaperMetadata]) -> None:
    """Write `records` to the metadata file at `path` atomically: readers and an interrupted
    run see the old file or the new one, never a part."""
    data = format_metadata(records).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=".metadata-", suffix=".toml.tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def updated(entries: Mapping[str, PaperMetadata], records: Iterable[PaperMetadata]) -> dict[str, PaperMetadata]:
    """`entries` (by match key) with `records` put in, except over pinned entries."""
    result = dict(entries)
    for record in records:
        key = match_key(record.title)
        if not (key in result and result[key].pinned):
            result[key] = record
    return result


def merge_records(path: Path, records: Iterable[Mapping], label: str = "record") -> dict[str, PaperMetadata]:
    """Put `records` (mappings with the file's keys, e.g. parsed JSON lines; dates may be ISO text)
    into the metadata file at `path`, keeping its other entries and every pinned one; the entries
    written. A bad record raises BuildError(`label`, its 1-based number, what is wrong)."""
    checked = [record_from_table(record, label, number, dates_as_text=True)
               for number, record in enumerate(records, 1)]
    entries = updated(read_metadata(path), checked)
    write_metadata(path, entries.values())
    return entries


# --- The build's side -----------------------------------------------------------------------

def listing_arxiv_id(paper: Paper) -> str | None:
    """The arXiv id the listing gives for `paper` (an arxiv.org or Hugging Face paper link, or
    `arXiv:ID` in the abstract), when it gives exactly one."""
    found = {m[1] or m[2] for link in paper.links if link.kind == "paper" for m in [_ID_IN_URL.match(link.url)] if m}
    if paper.abstract and "arxiv:" in paper.abstract.casefold():
        found.update(m[1] for m in _ID_IN_TEXT.finditer(paper.abstract))
    return found.pop() if len(found) == 1 else None


def attach(papers: list[Paper], entries: Mapping[str, PaperMetadata], label: str = METADATA_FILE,
           known: dict | None = None) -> tuple[list[Paper], list[Diagnostic]]:
    """Give each paper its metadata: its entry in the file, else the arXiv id of its listing.

    A paper without a date takes the arXiv one (`published_on_arxiv`). Entries that match no
    paper are warnings. `known` (kept between the preview's builds) maps a paper given to the
    paper made from it, so that an unchanged paper stays the same object. Newest first.
    """
    result: list[Paper] = []
    matched: set[str] = set()
    found: dict[int, tuple] = {}
    for paper in papers:
        key = match_key(paper.title)
        entry = entries.get(key)
        if entry is not None:
            matched.add(key)
        else:
            arxiv = listing_arxiv_id(paper)
            entry = PaperMetadata(title=paper.title, arxiv=arxiv, source="listing") if arxiv else None
        last = known.get(id(paper)) if known is not None else None
        if last is None or last[0] is not paper or last[1] != entry:
            on_arxiv = paper.published is None and entry is not None and entry.published is not None
            last = (paper, entry, paper if entry is None else with_fields(
                paper, metadata=entry, published=entry.published if on_arxiv else paper.published,
                published_on_arxiv=on_arxiv))
        found[id(paper)] = last
        result.append(last[2])
    if known is not None:
        known.clear()
        known.update(found)
    warnings = [Diagnostic(label, entry.line, f"no paper in the listings has the title {entry.title!r}; "
                           "correct the title to the listing's, or remove the entry")
                for key, entry in sorted(entries.items(), key=lambda item: item[1].line) if key not in matched]
    result.sort(key=paper_order)
    return result, warnings


def search_links(title: str) -> tuple[tuple[str, str], ...]:
    """("Find on arXiv", URL) and ("Find on Google Scholar", URL): searches by `title`."""
    return (("Find on arXiv", "https://arxiv.org/search/?" + urlencode({"query": title, "searchtype": "title"})),
            ("Find on Google Scholar", "https://scholar.google.com/scholar?" + urlencode({"q": f'"{title}"'})))
