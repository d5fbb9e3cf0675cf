"""Every path and URL of the output, made in one place.

Three kinds of name, kept apart as MkDocs keeps them:

- an *output path* is a file under the output directory: `papers/x/index.html`;
- a *site path* is what pages link to, relative to the site's root: `papers/x/`;
- a *URL* is a site path under the base path (`/sub/papers/x/`), or under the base URL
  (`https://example.org/sub/papers/x/`) where an absolute one is wanted and known.
"""

from __future__ import annotations

import re

from .config import Config

INDEX = "index.html"
"""The file a site path names when it ends in `/`."""
TERM_SECTIONS = ("topics", "hardware")
"""The site path segment of each kind of term: `topics/<slug>/`, `hardware/<slug>/`."""


def paper(slug: str) -> str:
    """Site path of a paper's page."""
    return f"papers/{slug}/"


def listing(slug: str) -> str:
    """Site path of a listing's page."""
    return f"listings/{slug}/"


def page(slug: str) -> str:
    """Site path of one of the site's own pages (`content/pages/`)."""
    return f"{slug}/"


def term(section: str, slug: str) -> str:
    """Site path of a term's page; `section` is one of `TERM_SECTIONS`."""
    return f"{section}/{slug}/"


def term_of_kind(kind: str, slug: str) -> str:
    """Site path of a term's page by the kind of term: `hardware`, else a topic (`topic`, `inferred`)."""
    return term("hardware" if kind == "hardware" else "topics", slug)


def topic_feed(slug: str) -> str:
    """Output path of a topic's Atom feed."""
    return f"{term('topics', slug)}feed.xml"


def paginated(base: str, order: str, number: int) -> str:
    """Site path of page `number` of a list under `base` in `order` (`date` is the default order)."""
    path = base + ("" if order == "date" else f"{order}/")
    return path + (f"page/{number}/" if number > 1 else "")


PAPER_PAGES = "papers/*/index.html"
"""The output paths of the paper pages as a glob, Pagefind's (its `*` does not cross a `/`)."""
_PAPER_PAGE = re.compile(r"papers/[^/]+/index\.html")


def is_paper_page(path: str) -> bool:
    """Whether the output path `path` is where the paper pages go, `papers/<slug>/index.html`."""
    return _PAPER_PAGE.fullmatch(path) is not None


def output_path(site_path: str) -> str:
    """`papers/x/` -> `papers/x/index.html`, the file it names."""
    return site_path + INDEX


def site_path(output_path: str) -> str:
    """`papers/x/index.html` -> `papers/x/`, the path pages link to."""
    return output_path.removesuffix(INDEX)


def url(base_path: str, path: str = "") -> str:
    """URL of a site path under the base path."""
    return base_path + path.lstrip("/")


def absolute_url(config: Config, path: str = "") -> str:
    """URL of a site path under the base URL when the site has one, else under the base path."""
    return (config.base_url or config.base_path) + path.lstrip("/")
