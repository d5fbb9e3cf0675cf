"""Generate a site source with N distinct papers recombined from the seed listings.

The papers are made from the real seeds (parsed with sitegen's own parser), so titles,
abstracts, links with copy debris and hardware mentions look like the real thing:

* titles: a name from one seed title, an optional qualifier, and a subtitle spliced from
  two others (`ProRL-XL: Neural Video Compression for Arbitrary-scale Super-Resolution`);
  no two titles share a `sitegen.papers.title_key`;
* abstracts: an opening sentence, body sentences, sometimes a sentence naming hardware and
  a closing sentence with a link, all drawn from seed abstracts;
* metadata: author counts or an organisation, dates 2019-2025 with and without a year,
  upvotes present or absent; a few rich entries without metadata or without an abstract.

Listings hold ~500 papers each and alternate the rich and compact formats; about 5% of the
papers also appear in a second listing (same metadata, so merging them raises no conflict).
The output depends only on N, the seed and the seed listings: same input, same bytes.

    python -m bench.generate 10000 /tmp/site10k [--seed 0]
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from random import Random

from sitegen.listings import CHROME_LINES, read_listings
from sitegen.papers import merge, title_key

SEEDS_DIR = Path(__file__).resolve().parent.parent / "content" / "listings"
"""The seed listings of a checkout (the same files as the project's default content)."""

RULES_FILE = "rules.toml"
"""Topic and hardware rules next to the seed listings' directory, copied along."""

PAPERS_PER_LISTING = 500
OVERLAP = 0.05
"""Share of papers that also appear in a second listing."""

RICH_CHROME = ("new", "", "Get trending papers in your email inbox!", "", "Subscribe", "",
               "Daily Papers", "", "byAK and the research community", "")
COMPACT_CHROME = ("Get trending papers in your email inbox once a day!",
                  "Get trending papers in your email inbox!")
LISTING_YEARS = (2025, 2024, 2025, 2023, 2025, 2022)
"""Years of the rich listings, in turn; undated entries belong to their listing's year."""
MONTH_NAMES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
ORGANIZATIONS = (("nvidia", "NVIDIA"), ("google", "Google"), ("microsoft", "Microsoft"),
                 ("meta-llama", "Meta Llama"), ("Qwen", "Qwen"), ("deepseek-ai", "DeepSeek"),
                 ("allenai", "Ai2"), ("apple", "Apple"), ("mistralai", "Mistral AI"))
QUALIFIERS = ("", "", "", "-2", "-3", "++", "-XL", "-Lite", "-Pro", "-Zero", "-R1", "-V2",
              "-Mini", " 2.0", "-Next", "-Flash", "-Nano", "-Edge", "-X", "-S")
CONNECTORS = ("for", "with", "via", "in", "through", "on", "from", "of", "using", "at")

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z(\[])")
_ABBREVIATION = re.compile(r"(?:\b(?:e\.g|i\.e|et al|vs|Fig|Eq|cf|resp|approx)\.)$")
_HARDWARE = re.compile(
    r"\b(?:RTX|GTX|[AHLV]100|H200|H20|A6000|A40|L40S?|L4|Jetson|FPGA|TPU|NPU|Snapdragon|iPhone|"
    r"Pixel|WebGPU|Apple M\d|M[1-4] (?:Max|Pro|Ultra)|SSDs?|Xeon|EPYC|Ascend|MI[23]\d0X?|"
    r"Gaudi|Hopper|Ampere|Blackwell|[0-9]+ ?GPUs?|GPUs?|CPUs?)\b")
_CONNECTOR = re.compile(r" (" + "|".join(CONNECTORS) + r") ")


@dataclass(frozen=True)
class _Pools:
    """Material cut from the seed papers."""

    names: tuple[str, ...]
    """Short names before a colon: `ProRL`, `CUDA-LLM`."""
    heads: tuple[str, ...]
    """Subtitle beginnings before a connector word."""
    tails: tuple[str, ...]
    """Subtitle endings after a connector word."""
    openers: tuple[str, ...]
    """First sentences of abstracts."""
    body: tuple[str, ...]
    """Other sentences without links."""
    hardware: tuple[str, ...]
    """Sentences that name hardware."""
    links: tuple[str, ...]
    """Sentences with a URL."""
    authors: tuple[int, ...]
    """Author counts seen in the seeds."""


@dataclass
class _Paper:
    title: str
    abstract: str
    published: date
    upvotes: int | None
    authors: int | None
    organization: tuple[str, str] | None
    has_metadata: bool = True
    """False for rich entries shown without a metadata block."""
    has_abstract: bool = True
    """False for rich entries shown as a title alone (no abstract, no metadata)."""


@dataclass(frozen=True)
class _Listing:
    name: str
    rich: bool
    year: int | None
    """The listing's year (rich only)."""
    day: date | None
    """The listing's own date (rich only)."""


def generate(n: int, dest: Path, seed: int = 0, seeds_dir: Path = SEEDS_DIR) -> None:
    """Write `dest/sitegen.toml` and `dest/content/listings/*.txt` holding `n` distinct papers.

    The seeds' `content/rules.toml`, when there is one, is copied to `dest/content/`.

    Raises FileExistsError when `dest` exists and is not empty (nothing is overwritten).
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise FileExistsError(f"{dest} is not empty; give a new or empty directory")
    rng = Random(seed)
    pools = _pools(seeds_dir)
    listings = _plan_listings(n, rng)
    sizes = [n // len(listings) + (i < n % len(listings)) for i in range(len(listings))]
    titles = _titles(n, pools, rng)
    entries: list[list[_Paper]] = []
    position = 0
    for listing, size in zip(listings, sizes):
        papers = [_paper(titles[position + k], listing, pools, rng, first=(k == 0))
                  for k in range(size)]
        position += size
        if listing.rich and size > 1:  # a few entries without metadata or without abstract
            for paper in papers[1:-1]:
                roll = rng.random()
                if roll < 0.01:
                    paper.has_abstract, paper.has_metadata = False, False
                elif roll < 0.05:
                    paper.has_metadata = False
        entries.append(papers)
    _add_overlap(entries, listings, rng)

    listings_dir = dest / "content" / "listings"
    listings_dir.mkdir(parents=True)
    (dest / "sitegen.toml").write_text(
        f'title = "sitegen benchmark: {n:,} papers"\n'
        f'description = "Generated by bench/generate.py from the seed listings (seed {seed})."\n',
        encoding="utf-8")
    for listing, papers in zip(listings, entries):
        text = _write_rich(listing, papers) if listing.rich else _write_compact(papers)
        (listings_dir / listing.name).write_bytes(text.encode("utf-8"))
    rules = seeds_dir.parent / RULES_FILE
    if rules.is_file():  # the curator's topic and hardware rules, so builds classify as usual
        (dest / "content" / RULES_FILE).write_bytes(rules.read_bytes())


def _pools(seeds_dir: Path) -> _Pools:
    listings = read_listings(seeds_dir, seeds_dir.parent.parent, {})
    papers, _ = merge(listings)
    if not papers:
        raise SystemExit(f"{seeds_dir}: no seed papers to recombine")
    names, subtitles = [], []
    for paper in papers:
        name, colon, rest = paper.title.partition(": ")
        if colon and len(name.split()) <= 3:
            names.append(name.strip())
            subtitles.append(rest.strip())
        else:
            subtitles.append(paper.title.strip())
    heads, tails = [], []
    for subtitle in subtitles:
        match = _CONNECTOR.search(subtitle)
        if match:
            heads.append(subtitle[: match.start()])
            tails.append(subtitle[match.end():])
        else:
            heads.append(subtitle)
    openers, body, hardware, links = [], [], [], []
    for paper in papers:
        for i, sentence in enumerate(_sentences(paper.abstract or "")):
            if "http" in sentence:
                links.append(sentence)
            elif i == 0:
                openers.append(sentence)
            else:
                (hardware if _HARDWARE.search(sentence) else body).append(sentence)
    authors = [e.authors_count for listing in listings for e in listing.entries if e.authors_count]
    return _Pools(
        names=tuple(_unique(names)), heads=tuple(_unique(heads)), tails=tuple(_unique(tails)),
        openers=tuple(openers), body=tuple(body), hardware=tuple(hardware), links=tuple(links),
        authors=tuple(authors) or (1, 3, 4, 6, 8))


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(item for item in items if item))


def _sentences(text: str) -> list[str]:
    """Split an abstract into sentences, keeping `e.g. X` and `et al. X` together."""
    pieces = _SENTENCE_END.split(text)
    sentences: list[str] = []
    for piece in pieces:
        if sentences and _ABBREVIATION.search(sentences[-1]):
            sentences[-1] += " " + piece
        else:
            sentences.append(piece)
    return [s.strip() for s in sentences if s.strip()]


def _plan_listings(n: int, rng: Random) -> list[_Listing]:
    count = min(n, max(2, round(n / PAPERS_PER_LISTING)))  # both formats, none empty
    width = max(3, len(str(count - 1)))
    listings = []
    for i in range(count):
        name = f"{i:0{width}d}_{rng.getrandbits(64):016x}.txt"
        if i % 2 == 0:
            year = LISTING_YEARS[(i // 2) % len(LISTING_YEARS)]
            day = date(year, rng.randint(3, 12), rng.randint(1, 28))
            listings.append(_Listing(name, True, year, day))
        else:
            listings.append(_Listing(name, False, None, None))
    return listings


def _titles(n: int, pools: _Pools, rng: Random) -> list[str]:
    """`n` titles with pairwise different title keys."""
    titles: list[str] = []
    taken: set[str] = set()
    while len(titles) < n:
        for attempt in range(1000):
            title = _title(pools, rng, numbered=attempt >= 20)
            key = title_key(title)
            if key not in taken and _is_safe_title(title):
                break
        else:
            raise RuntimeError("could not make a new distinct title")
        taken.add(key)
        titles.append(title)
    return titles


def _title(pools: _Pools, rng: Random, numbered: bool) -> str:
    subtitle = rng.choice(pools.heads)
    if pools.tails and rng.random() < 0.8:
        subtitle += f" {rng.choice(CONNECTORS)} {rng.choice(pools.tails)}"
    if numbered:  # the name space is running out: a version number keeps titles apart
        return f"{rng.choice(pools.names or ('Model',))}-{rng.randint(2, 999)}: {subtitle}"
    if pools.names and rng.random() < 0.6:
        return f"{rng.choice(pools.names)}{rng.choice(QUALIFIERS)}: {subtitle}"
    return subtitle


def _is_safe_title(title: str) -> bool:
    """A title the rich parser can never take for an abstract, chrome or metadata."""
    return (len(title) <= 180 and ". " not in title and not title.startswith("Subscribe")
            and not title.endswith(".") and title.casefold() not in CHROME_LINES)


def _paper(title: str, listing: _Listing, pools: _Pools, rng: Random, first: bool) -> _Paper:
    if listing.rich and listing.year is not None and listing.day is not None:
        if first:  # the newest explicit year + 1 is what the parser infers the listing's year from
            published = _random_day(rng, listing.year - 1)
        elif rng.random() < 0.35:
            start = date(listing.year, 1, 1)
            published = start + timedelta(days=rng.randint(0, (listing.day - start).days))
        else:
            published = _random_day(rng, rng.choices(
                range(2019, listing.year), weights=range(1, listing.year - 2018))[0])
    else:
        published = _random_day(rng, rng.choices(range(2019, 2026), weights=(1, 1, 2, 3, 5, 6, 6))[0])
    organization = rng.choice(ORGANIZATIONS) if rng.random() < 0.08 else None
    authors = None if organization else (
        rng.randint(25, 60) if rng.random() < 0.03 else rng.choice(pools.authors))
    upvotes = None if rng.random() < 0.5 else min(999, int(rng.paretovariate(1.0)))
    return _Paper(title, _abstract(pools, rng), published, upvotes, authors, organization)


def _random_day(rng: Random, year: int) -> date:
    return date(year, 1, 1) + timedelta(days=rng.randint(0, 364))


def _abstract(pools: _Pools, rng: Random) -> str:
    sentences = [rng.choice(pools.openers)]
    sentences += rng.sample(pools.body, min(len(pools.body), rng.randint(3, 9)))
    if pools.hardware and rng.random() < 0.45:
        sentences.insert(rng.randint(1, len(sentences)), rng.choice(pools.hardware))
    if pools.links and rng.random() < 0.33:
        sentences.append(rng.choice(pools.links))
    text = " ".join(sentences)
    while len(text) <= 200:  # the rich parser recognises an abstract by its length
        text += " " + rng.choice(pools.body)
    return text


def _add_overlap(entries: list[list[_Paper]], listings: list[_Listing], rng: Random) -> None:
    """Copy about OVERLAP of the papers into a second listing, at a random place."""
    copies: list[list[_Paper]] = [[] for _ in listings]
    for i, papers in enumerate(entries):
        for paper in papers:
            if rng.random() >= OVERLAP:
                continue
            targets = [j for j, listing in enumerate(listings) if j != i and (
                not listing.rich or (listing.year or 0) >= paper.published.year)]
            if targets:  # the copy shows everything, as the seeds' copies do
                copy = _Paper(paper.title, paper.abstract, paper.published,
                              paper.upvotes, paper.authors, paper.organization)
                copies[rng.choice(targets)].append(copy)
    for papers, extra in zip(entries, copies):
        for copy in extra:  # never at the very end: a rich file may not end in a title alone
            papers.insert(rng.randint(0, len(papers) - 1) if papers else 0, copy)


def _write_rich(listing: _Listing, papers: list[_Paper]) -> str:
    assert listing.day is not None and listing.year is not None
    lines = list(RICH_CHROME) + [f"{MONTH_NAMES[listing.day.month - 1]} {listing.day.day}", ""]
    for paper in papers:
        lines += [paper.title, ""]
        if not paper.has_abstract:
            continue
        lines += [paper.abstract, ""]
        if not paper.has_metadata:
            continue
        if paper.organization:
            lines.append(f"{paper.organization[0]} {paper.organization[1]}")
        else:
            lines.append(f"  \u2022 {paper.authors} authors")
        lines.append("\u00b7")
        day = f"{MONTH_NAMES[paper.published.month - 1]} {paper.published.day}"
        if paper.published.year != listing.year:
            day += f", {paper.published.year}"
        if paper.upvotes is not None:
            day += f" {paper.upvotes}"
        lines += [day, ""]
    return "\n".join(lines).rstrip("\n")  # the seeds end without a final newline


def _write_compact(papers: list[_Paper]) -> str:
    lines = list(COMPACT_CHROME)
    for paper in papers:
        lines += [paper.title, paper.abstract]
    lines[len(COMPACT_CHROME)] = "Subscribe" + lines[len(COMPACT_CHROME)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of distinct papers")
    parser.add_argument("dest", type=Path, help="new or empty directory for the site source")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--seeds-dir", type=Path, default=SEEDS_DIR,
                        help=f"seed listings to recombine (default {SEEDS_DIR})")
    args = parser.parse_args(argv)
    try:
        generate(args.n, args.dest, args.seed, args.seeds_dir)
    except (FileExistsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    files = sorted((args.dest / "content" / "listings").glob("*.txt"))
    print(f"wrote {args.n:,} papers in {len(files)} listings under {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
