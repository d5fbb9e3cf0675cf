"""The benchmark's paper generator, checked with sitegen's real parser and merge."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bench.generate import generate
from sitegen.listings import read_listings
from sitegen.papers import merge, title_key

N = 300


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bench") / "site"
    generate(N, root, seed=0)
    return root


@pytest.fixture(scope="module")
def parsed(site):
    listings = read_listings(site / "content" / "listings", site, {})
    papers, conflicts = merge(listings)
    return listings, papers, conflicts


def test_same_input_same_bytes(site, tmp_path):
    generate(N, tmp_path / "again", seed=0)
    assert _files(tmp_path / "again") == _files(site)


def test_another_seed_other_papers(site, tmp_path):
    generate(N, tmp_path / "other", seed=1)
    assert _files(tmp_path / "other") != _files(site)


def test_exactly_n_distinct_papers(parsed):
    _, papers, _ = parsed
    assert len(papers) == N
    assert len({title_key(p.title) for p in papers}) == N


def test_listings_parse_and_merge_without_warnings(parsed):
    listings, _, conflicts = parsed
    assert [d for listing in listings for d in listing.diagnostics] == []
    assert conflicts == []


def test_both_formats_with_their_years(parsed):
    listings, _, _ = parsed
    assert {listing.format for listing in listings} == {"rich", "compact"}
    for listing in listings:
        if listing.format == "rich":
            assert listing.year_inferred and listing.date is not None


def test_some_papers_appear_in_two_listings(parsed):
    _, papers, _ = parsed
    shared = [p for p in papers if len(p.listings) == 2]
    assert 0.02 * N <= len(shared) <= 0.1 * N


def test_metadata_varies_like_the_seeds(parsed):
    _, papers, _ = parsed
    years = {p.published.year for p in papers if p.published}
    assert min(years) <= 2020 and max(years) == 2025
    assert any(p.published_year_inferred for p in papers)
    assert any(p.published and not p.published_year_inferred for p in papers)
    assert any(p.upvotes is None for p in papers) and any(p.upvotes for p in papers)
    assert any(p.organization for p in papers) and any(p.authors_count for p in papers)
    assert any(p.links for p in papers)


def test_config_is_valid(site):
    config = tomllib.loads((site / "sitegen.toml").read_text(encoding="utf-8"))
    assert str(N) in config["title"]


def test_refuses_to_write_into_a_non_empty_directory(site):
    with pytest.raises(FileExistsError):
        generate(N, site)
