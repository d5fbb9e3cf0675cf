"""Listing parser: one fixture file per trap, each with the entries it must produce."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from sitegen.diagnostics import BuildError
from sitegen.listings import decode, parse_listing, read_listings

FIXTURES = Path(__file__).parent / "fixtures" / "listings"
CASES = sorted(p.stem for p in FIXTURES.glob("*.txt"))
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("case", CASES)
def test_fixture(case: str) -> None:
    expected = json.loads((FIXTURES / f"{case}.json").read_text())
    path = f"fixtures/{case}.txt"
    listing = parse_listing(decode((FIXTURES / f"{case}.txt").read_bytes(), path), path)
    assert listing.format == expected["format"]
    assert (listing.date.isoformat() if listing.date else None) == expected["date"]
    assert listing.year == expected["year"]
    assert listing.year_inferred == expected["year_inferred"]
    got = [
        {
            "title": e.title, "line": e.source.line, "abstract": bool(e.abstract),
            "authors_count": e.authors_count,
            "organization": [e.organization.handle, e.organization.name] if e.organization else None,
            "published": e.published.isoformat() if e.published else None,
            "inferred": e.published_year_inferred, "upvotes": e.upvotes,
        }
        for e in listing.entries
    ]
    assert got == expected["entries"]
    assert len(listing.diagnostics) == len(expected["warnings"])
    for diagnostic, (_, line, fragment) in zip(listing.diagnostics, expected["warnings"]):
        assert diagnostic.file == path and diagnostic.line == line
        assert fragment in diagnostic.message


def test_seed_listings() -> None:
    rich, compact = read_listings(ROOT / "content" / "listings", ROOT, {})
    assert (rich.format, len(rich.entries), rich.year, rich.year_inferred) == ("rich", 71, 2025, True)
    assert (compact.format, len(compact.entries)) == ("compact", 119)
    assert not rich.diagnostics and not compact.diagnostics
    assert compact.entries[0].title.startswith("Generalized and Efficient 2D Gaussian Splatting")
    rlp = next(e for e in rich.entries if e.title.startswith("RLP:"))
    assert (rlp.organization.name, rlp.published, rlp.upvotes) == ("NVIDIA", date(2025, 9, 26), 4)
    assert rlp.source == rlp.source.__class__("content/listings/000_e0f5f16c55c27fa1.txt", 61)


def test_configured_year_overrides_inference() -> None:
    text = "Nov 4\n\nT\n\nAn abstract that reads like prose. Two sentences.\n\n  • 2 authors\n·\nMay 30 3\n"
    listing = parse_listing(text, "x.txt", year=2031)
    assert listing.year == 2031 and not listing.year_inferred
    assert listing.entries[0].published == date(2031, 5, 30)


def test_invalid_utf8_names_file_and_line() -> None:
    with pytest.raises(BuildError) as caught:
        decode(b"Nov 4\n\nok line\n\xff\xfe bad\n", "content/listings/bad.txt")
    assert str(caught.value).startswith("content/listings/bad.txt:4: not valid UTF-8")
    assert "save the file as UTF-8" in str(caught.value)


def test_binary_file_is_refused() -> None:
    with pytest.raises(BuildError, match=r"^x.bin:1: contains NUL bytes"):
        decode(b"\x00\x01\x02binary", "x.bin")


def test_crlf_and_bom_read_like_clean_text() -> None:
    clean = (FIXTURES / "rich_basic.txt").read_text()
    dirty = b"\xef\xbb\xbf" + clean.replace("\n", "\r\n").encode()
    a = parse_listing(decode(clean.encode(), "x.txt"), "x.txt")
    b = parse_listing(decode(dirty, "x.txt"), "x.txt")
    assert a == b


ABSTRACT = "We present a method that runs fast on GPUs and explain why it works in several settings."


def test_a_list_of_links_is_not_a_paper() -> None:
    """A pasted reading list (a heading over URLs) or a URL where a title should be is skipped
    with a warning at its line; the papers around it are kept."""
    text = ("Daily Papers\n\nNov 4\n\nA Real Paper\n\n" + ABSTRACT + "\n\n  • 3 authors\n·\nMay 3, 2024 5\n\n"
            "My reading list\n\nhttps://arxiv.org/abs/2401.00001\nhttps://arxiv.org/abs/2401.00002\n"
            "huggingface.co/papers/2401.00003\n\nAnother Real Paper\n\n" + ABSTRACT + "\n\n  • 2 authors\n·\n"
            "May 4, 2024 3\n")
    listing = parse_listing(text, "content/listings/mixed.txt")
    assert [e.title for e in listing.entries] == ["A Real Paper", "Another Real Paper"]
    (warning,) = [d for d in listing.diagnostics if "links" in d.message]
    assert (warning.file, warning.line) == ("content/listings/mixed.txt", 13)
    assert "'My reading list' and the links under it are a list of links, not a paper: skipped" in warning.message
    assert not [d for d in listing.diagnostics if "My reading list" in d.message and d is not warning]

    compact = parse_listing("https://arxiv.org/abs/2401.00001\nA Compact Title\n" + ABSTRACT + "\n",
                            "content/listings/c.txt")
    assert [e.title for e in compact.entries] == ["A Compact Title"]
    assert [(d.line, "is a list of links" in d.message) for d in compact.diagnostics] == [(1, True)]


def test_a_file_of_links_only_stops_the_build_saying_why(tmp_path) -> None:
    listings = tmp_path / "content" / "listings"
    listings.mkdir(parents=True)
    (listings / "links.txt").write_text("My reading list\n\nhttps://arxiv.org/abs/2401.00001\n"
                                        "https://arxiv.org/abs/2401.00002\n")
    with pytest.raises(BuildError) as caught:
        read_listings(listings, tmp_path, {})
    assert str(caught.value).startswith("content/listings/links.txt:1: not a listing")
    assert "a list of links, not a paper" in str(caught.value)


def test_a_missing_listings_folder_is_named_in_full(tmp_path) -> None:
    with pytest.raises(BuildError) as caught:
        read_listings(tmp_path / "content" / "listings", tmp_path, {})
    assert f"looked for {tmp_path}/content/listings" in str(caught.value)
