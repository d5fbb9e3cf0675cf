"""The site as templates see it: the papers, the listings by title, the pages, the notes, the terms.

Made from the content model (`papers`, `listings`, `content`) once the papers are classified
and related; templates read it, and nothing in it is written back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .content import Page
from .listings import Listing
from .papers import HardwareMention, Paper, listing_slugs, unique_slugs
from .termpages import TermView


@dataclass(frozen=True)
class ListingView:
    """A listing as pages show it."""

    key: str
    """The listing's slug from its file name, as `Paper.listings` holds it; never shown."""
    slug: str
    """URL segment, `listings/<slug>/`: from the title (or date), unique, stable while the title is."""
    title: str
    listing: Listing
    papers: tuple[Paper, ...]
    """Papers in the listing's own order."""


@dataclass(frozen=True)
class Site:
    """Everything the pages are made from."""

    config: Config
    papers: tuple[Paper, ...]
    """Newest first."""
    listings: tuple[ListingView, ...]
    pages: tuple[Page, ...] = ()
    notes: dict[str, str] = field(default_factory=dict)
    """Rendered note HTML by paper slug."""
    taxonomy: object | None = None
    """The classification terms (sitegen.taxonomy.Taxonomy) when rules exist."""
    related: dict[str, tuple[str, ...]] | None = field(default_factory=dict)
    """Slugs of each paper's similar papers, most similar first, by its slug. Apart from the
    papers: a change of who is related to whom renders only the paper pages that show it.
    None while they are not known yet (a template that reads them then fails)."""


def listing_views(listings: list[Listing], papers: list[Paper], config: Config) -> tuple[ListingView, ...]:
    """Each listing with its papers in listing order.

    Readers see a listing's title (`[listings."file"] title` in sitegen.toml, else its date) and
    an address made from it; file names and lines stay in `papers.json` and the build's messages.
    """
    keys = listing_slugs(listings)
    titles = {}
    for listing in listings:
        settings = config.listings.get(Path(listing.path).name)
        titles[listing.path] = settings.title if settings and settings.title else listing_title(listing)
    slugs = unique_slugs([(listing.path, titles[listing.path]) for listing in listings], "listing")
    by_source = {source: paper for paper in papers for source in paper.sources}
    views = []
    for listing in listings:
        ordered = []
        for entry in listing.entries:
            paper = by_source[entry.source]
            if not ordered or ordered[-1] is not paper:
                ordered.append(paper)
        views.append(ListingView(keys[listing.path], slugs[listing.path], titles[listing.path], listing,
                                 tuple(dict.fromkeys(ordered))))
    return tuple(views)


def listing_title(listing: Listing) -> str:
    """The name of a listing that sitegen.toml gives no title: its date, else its file name."""
    if listing.date:
        return f"Daily papers, {listing.date.day} {listing.date:%B %Y}"
    return f"Listing {listing.stem.replace('_', ' ')}"  # nothing better is known: set a title


def term_names(taxonomy) -> dict[str, str]:
    """Display name of each classification term by slug, for chips and metadata.

    Reads `taxonomy.terms` (slug -> term with a `name`); empty before classification exists,
    and templates then show the slug.
    """
    terms = getattr(taxonomy, "terms", None) or {}
    return {slug: term.name for slug, term in terms.items()}


def distinct_slugs(mentions: tuple[HardwareMention, ...]) -> list[str]:
    """The slugs of a paper's hardware mentions, each once, in order of first mention."""
    return list(dict.fromkeys(mention.slug for mention in mentions))


WATCHED = (Site, ListingView, TermView)
"""Context objects that reach many papers; `renderer` notes which parts of them a page reads."""
