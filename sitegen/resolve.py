"""`sitegen resolve`: look papers up on arXiv by title and record what is found in
`content/metadata.toml` (sitegen/metadata.py), the only file it writes.

A match is taken only when the titles are equal after `metadata.match_key`; near matches
(rapidfuzz) are recorded as ambiguous with their candidates, for a curator to choose. arXiv
asks for one request every 3 seconds: titles go several to a query, requests are paced,
failures are retried with exponential back-off (honouring `Retry-After`), and the file is
rewritten atomically after each query, so an interrupted run loses nothing and the next one
goes on where it stopped.
"""

from __future__ import annotations

import errno
import http.client
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode, urlsplit
from urllib.request import Request, urlopen

from rapidfuzz import fuzz

from . import __version__
from .config import Config
from .diagnostics import BuildError
from .listings import read_listings
from .metadata import (METADATA_FILE, Candidate, PaperMetadata, listing_arxiv_id, match_key, read_metadata,
                       updated, write_metadata)
from .papers import Paper, merge

ARXIV_API = "https://export.arxiv.org/api/query"
API_ENV = "SITEGEN_ARXIV_API"
"""Environment variable that points the look-up at another server (a test's fake arXiv)."""
INTERVAL = 3.0
"""Seconds between requests: what arXiv's terms of use ask for."""
TITLES_PER_QUERY = 5
RESULTS_PER_TITLE = 10
TIMEOUT = 30.0
RETRIES = 4
"""Tries after the first, waiting INTERVAL x 1, 2, 4, 8 (or what `Retry-After` says)."""
MAX_WAIT = 600.0
NEAR = 85.0
"""Least rapidfuzz token-sort similarity (0-100) of titles for a candidate."""
CANDIDATES = 5

_ATOM = "{http://www.w3.org/2005/Atom}"
_ARXIV = "{http://arxiv.org/schemas/atom}"
_OPENSEARCH = "{http://a9.com/-/spec/opensearch/1.1/}"
_ENTRY_ID = re.compile(r"https?://arxiv\.org/abs/(.+?)(?:v(\d+))?\Z")
_UNREACHABLE = (errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN)


@dataclass(frozen=True)
class ArxivEntry:
    """One paper of an arXiv API answer."""

    arxiv: str
    version: int | None
    title: str
    """White space folded (arXiv breaks long titles over lines)."""
    authors: tuple[str, ...]
    published: date | None
    category: str | None


class Unreachable(Exception):
    """The API's host cannot be reached at all (no network, no such host, nothing listening)."""


class ApiFailed(Exception):
    """The API kept failing, or answered with an error, after the retries."""


@dataclass
class ArxivClient:
    """arXiv API queries, paced and retried. `sleep` and `clock` are time's unless a test's."""

    api: str = ARXIV_API
    interval: float = INTERVAL
    timeout: float = TIMEOUT
    retries: int = RETRIES
    on_wait: Callable[[str], None] = lambda message: None
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    _last: float | None = field(default=None, repr=False)
    """When the last request began (`clock`)."""
    _retry_after: float | None = field(default=None, repr=False)
    """What the last answer's `Retry-After` asked for, in seconds."""

    def query(self, search_query: str = "", id_list: Sequence[str] = (),
              max_results: int = RESULTS_PER_TITLE) -> tuple[list[ArxivEntry], int]:
        """The entries an API query finds, and how many it found in all (more when cut off)."""
        params = {"search_query": search_query, "id_list": ",".join(id_list), "start": 0,
                  "max_results": max_results}
        request = Request(f"{self.api}?{urlencode(params)}",
                          headers={"User-Agent": f"sitegen/{__version__} (sitegen resolve)"})
        problem = ""
        for attempt in range(self.retries + 1):
            if attempt:
                wait = min(self._retry_after or self.interval * 2 ** (attempt - 1), MAX_WAIT)
                self.on_wait(f"{problem}; trying again in {wait:g} s ({attempt}/{self.retries})")
                self.sleep(wait)
            self._pace()
            self._retry_after = None
            try:
                with urlopen(request, timeout=self.timeout) as response:
                    body = response.read()
                return parse_feed(body)
            except HTTPError as error:
                if error.code != 429 and error.code < 500:
                    raise ApiFailed(f"{self.host} answered HTTP {error.code} {error.reason}") from None
                problem = f"{self.host} answered HTTP {error.code}"
                self._retry_after = retry_after(error.headers.get("Retry-After"))
            except URLError as error:
                reason = error.reason
                if isinstance(reason, socket.gaierror) or getattr(reason, "errno", None) in _UNREACHABLE:
                    raise Unreachable(f"cannot reach {self.host} ({_reason(reason)})") from None
                problem = f"{self.host}: {_reason(reason)}"
            except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
                problem = f"{self.host}: {_reason(error)}"
            except GarbledFeed as error:
                problem = f"{self.host} answered with {error}"
        raise ApiFailed(f"{problem}; gave up after {self.retries + 1} tries")

    @property
    def host(self) -> str:
        return urlsplit(self.api).netloc or self.api

    def _pace(self) -> None:
        """Wait until `interval` has passed since the last request began."""
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            self.sleep(self.interval - (now - self._last))
        self._last = self.clock()


def _reason(error: object) -> str:
    if isinstance(error, TimeoutError) or "timed out" in str(error):
        return "timed out"
    return getattr(error, "strerror", None) or str(error) or type(error).__name__


def retry_after(value: str | None) -> float | None:
    """Seconds a `Retry-After` header asks to wait (seconds, or an HTTP date), else None."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class GarbledFeed(Exception):
    """An answer that is not the API's Atom feed."""


def parse_feed(body: bytes) -> tuple[list[ArxivEntry], int]:
    """The entries of an arXiv API Atom feed and its `opensearch:totalResults`.

    Raises GarbledFeed for anything else, ApiFailed for the API's own error entry.
    """
    try:
        root = ET.fromstring(body)
    except ET.ParseError as error:
        raise GarbledFeed(f"XML that does not parse ({error})") from None
    if root.tag != _ATOM + "feed":
        raise GarbledFeed(f"a {root.tag!r} document, not an Atom feed")
    entries = []
    for element in root.iter(_ATOM + "entry"):
        ident = (element.findtext(_ATOM + "id") or "").strip()
        if "/api/errors" in ident:
            raise ApiFailed("arXiv says: " + " ".join((element.findtext(_ATOM + "summary") or "").split()))
        match = _ENTRY_ID.match(ident)
        title = " ".join((element.findtext(_ATOM + "title") or "").split())
        if not match or not title:
            raise GarbledFeed(f"an entry without an arXiv id or title ({ident!r})")
        published = (element.findtext(_ATOM + "published") or "").strip()[:10]
        try:
            day = date.fromisoformat(published) if published else None
        except ValueError:
            raise GarbledFeed(f"an entry with the date {published!r}") from None
        primary = element.find(_ARXIV + "primary_category")
        entries.append(ArxivEntry(
            arxiv=match[1], version=int(match[2]) if match[2] else None, title=title,
            authors=tuple(" ".join(name.split()) for author in element.iter(_ATOM + "author")
                          for name in [author.findtext(_ATOM + "name") or ""] if name.strip()),
            published=day, category=primary.get("term") if primary is not None else None))
    total = root.findtext(_OPENSEARCH + "totalResults")
    return entries, int(total) if total and total.strip().isdigit() else len(entries)


def title_query(titles: Sequence[str]) -> str:
    """`ti:"..." OR ti:"..."`: a phrase search per title, punctuation left out."""
    phrases = [" ".join(re.sub(r"[^\w\s]", " ", match_key(title)).split()) for title in titles]
    return " OR ".join(f'ti:"{phrase}"' for phrase in phrases if phrase)


def match(title: str, found: Sequence[ArxivEntry], source: str, today: date) -> PaperMetadata:
    """What `found` tells about the paper titled `title`: resolved when exactly one arXiv paper
    has the same title, else ambiguous with the near matches, else not found."""
    key = match_key(title)
    same = list({entry.arxiv: entry for entry in found if match_key(entry.title) == key}.values())
    if len(same) == 1:
        entry = same[0]
        return PaperMetadata(title=title, arxiv=entry.arxiv, version=entry.version, authors=entry.authors,
                             published=entry.published, category=entry.category, source=source, checked=today)
    scored = same or sorted((entry for entry in found if fuzz.token_sort_ratio(key, match_key(entry.title)) >= NEAR),
                            key=lambda e: (-fuzz.token_sort_ratio(key, match_key(e.title)), e.arxiv))
    candidates = tuple(dict.fromkeys(Candidate(e.arxiv, e.title) for e in scored))[:CANDIDATES]
    return PaperMetadata(title=title, source=source, checked=today,
                         status="ambiguous" if candidates else "not-found", candidates=candidates)


@dataclass
class Outcome:
    """What a run did, for its summary."""

    looked_up: list[PaperMetadata] = field(default_factory=list)
    left: int = 0
    """Papers still to look up (beyond --limit, or after a stop)."""
    stopped: str = ""
    """Why the run stopped early, if it did."""

    def count(self, status: str | None) -> int:
        return sum(1 for record in self.looked_up if record.status == status)


def to_look_up(papers: Sequence[Paper], entries: dict[str, PaperMetadata], retry: bool) -> list[str]:
    """Titles of the papers to look up, in title order: no entry with an id, no id in the
    listing; not pinned; unresolved ones only with `retry`."""
    titles = {}
    for paper in papers:
        key = match_key(paper.title)
        entry = entries.get(key)
        if entry is None:
            if listing_arxiv_id(paper) is None:
                titles[key] = paper.title
        elif not entry.arxiv and not entry.pinned and (entry.status is None or retry):
            titles[key] = paper.title
    return [titles[key] for key in sorted(titles)]


def resolve(config: Config, client: ArxivClient, *, limit: int | None = None, retry: bool = False,
            today: date, progress: Callable[[str], None]) -> Outcome:
    """Look up the site's papers without an arXiv id and record the results in its metadata file.

    The file is rewritten after each query. Raises BuildError for a listing or metadata file
    that cannot be read, Unreachable when the API's host cannot be reached.
    """
    path = config.root / METADATA_FILE
    entries = read_metadata(path)
    years = {name: s.year for name, s in config.listings.items() if s.year}
    papers, _ = merge(read_listings(config.listings_dir, config.root, years))
    titles = to_look_up(papers, entries, retry)
    outcome = Outcome(left=len(titles))
    if limit is not None:
        titles = titles[:limit]
    queue = [titles[i:i + TITLES_PER_QUERY] for i in range(0, len(titles), TITLES_PER_QUERY)]
    source = "arXiv API" if client.api == ARXIV_API else client.api
    while queue:
        batch = queue.pop(0)
        try:
            found, total = client.query(title_query(batch), max_results=RESULTS_PER_TITLE * len(batch))
        except ApiFailed as error:
            outcome.stopped = str(error)
            break
        except Unreachable as error:
            if not outcome.looked_up:
                raise
            outcome.stopped = str(error)
            break
        records = [match(title, found, source, today) for title in batch]
        if total > len(found) and len(batch) > 1:  # cut off: look the unmatched ones up alone
            alone = [r.title for r in records if not r.arxiv]
            records = [r for r in records if r.arxiv]
            queue += [[title] for title in alone]
        entries = updated(entries, records)
        write_metadata(path, entries.values())
        outcome.looked_up += records
        outcome.left -= len(records)
        progress(f"  [{len(titles) - sum(map(len, queue))}/{len(titles)}] "
                 + ", ".join(f"{n} {label}" for label, n in _counts(records) if n))
    return outcome


def _counts(records: Sequence[PaperMetadata]) -> list[tuple[str, int]]:
    return [("resolved", sum(1 for r in records if r.arxiv)),
            ("ambiguous", sum(1 for r in records if r.status == "ambiguous")),
            ("not found", sum(1 for r in records if r.status == "not-found"))]


def summary(outcome: Outcome) -> str:
    """The closing report: counts, then each ambiguous title with its candidates, each not found."""
    lines = ["Looked up {} paper{} on arXiv: {}.".format(
        len(outcome.looked_up), "" if len(outcome.looked_up) == 1 else "s",
        ", ".join(f"{n} {label}" for label, n in _counts(outcome.looked_up)))]
    for record in outcome.looked_up:
        if record.status == "ambiguous":
            lines.append(f"ambiguous: {record.title}")
            lines += [f"  {c.arxiv:<12} {c.title}" for c in record.candidates]
    lines += [f"not found: {r.title}" for r in outcome.looked_up if r.status == "not-found"]
    if outcome.looked_up:
        lines.append(f"Recorded in {METADATA_FILE}; set `arxiv` in an ambiguous entry to choose, "
                     "and `pinned = true` to keep an entry as it is.")
    if outcome.stopped:
        lines.append(f"Stopped: {outcome.stopped}. What was found is saved; run `sitegen resolve` again "
                     "to go on.")
    if outcome.left:
        lines.append(f"{outcome.left} paper{' is' if outcome.left == 1 else 's are'} left to look up.")
    return "\n".join(lines)


def check_interval(api: str, interval: float) -> None:
    """Refuse to query arxiv.org more often than it asks (BuildError for the command line)."""
    host = (urlsplit(api).hostname or "").lower()
    if interval < INTERVAL and (host == "arxiv.org" or host.endswith(".arxiv.org")):
        raise BuildError("--interval", 0, f"arXiv asks for at most one request every {INTERVAL:g} s; "
                         f"use --interval {INTERVAL:g} or more")
