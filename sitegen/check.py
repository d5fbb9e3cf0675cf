"""`sitegen check`: does every link of a built site lead somewhere?

Reads every HTML page of an output directory with the standard library's `html.parser` and
checks each `href`, `src`, `srcset`, `poster` and form `action`:

* internal links (relative, root-relative under the base path, or absolute under the base
  URL) must name a file of the output: `dir/` means `dir/index.html`, and a `#fragment` into
  a page must name an `id` on it;
* external links must be well formed: no copy debris such as a trailing `.`, `,` or an
  unbalanced `)` or `]`, no braces, quotes or spaces;
* a search page's Pagefind bundle (`data-bundle`) must hold `pagefind.js`;
* `feed.xml`, `sitemap.xml` and every other `.xml` file must parse, and their links must
  resolve like the pages' links.
"""

from __future__ import annotations

import os
import posixpath
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

from .build import BuildResult, build
from .config import Config
from .output import MANIFEST

LINK_ATTRIBUTES = frozenset({"href", "src", "poster", "action"})
SRCSET_ATTRIBUTES = frozenset({"srcset", "imagesrcset"})
BUNDLE_ATTRIBUTE = "data-bundle"
"""Set by templates/search.html on the search page: the URL of the Pagefind bundle directory."""
REQUIRED_XML = ("feed.xml", "sitemap.xml")
IGNORED_SCHEMES = frozenset({"mailto", "tel", "data", "javascript", "about", "blob"})
_DEBRIS_END = ".,;:'\"!?*"
_NOT_IN_URL = re.compile(r"[\s{}<>\"\\^`|]")
_SCRIPT_BODY = re.compile(r"<(?:!--.*?-->|((?:script|style)\b(?:[^>\"']|\"[^\"]*\"|'[^']*')*>).*?"
                          r"(</(?:script|style)\s*>))", re.S | re.I)
"""Comments, and the bodies of scripts and style sheets: text that only looks like tags."""
_START_TAG = re.compile(r"<[a-zA-Z][^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*>")
_WANTED_ATTRIBUTE = re.compile(r"\s(?:href|src|srcset|imagesrcset|poster|action|id|name|data-bundle)\s*=", re.I)
"""Start tags with one of these attributes are the only ones fed to the parser (much quicker)."""
_RAW_TEXT = frozenset({"script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes",
                       "noscript", "plaintext"})
_ATOM = "{http://www.w3.org/2005/Atom}"
_SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


@dataclass(frozen=True)
class Problem:
    """A link that leads nowhere, or a file that is not what it should be."""

    page: str
    """Output path of the file the problem is in (`papers/x/index.html`), or of the missing file."""
    message: str
    """What is wrong, naming the link as written."""

    def __str__(self) -> str:
        return f"{self.page}: {self.message}"


@dataclass(frozen=True)
class CheckReport:
    """What `check_site` looked at and found."""

    pages: int
    """HTML files read."""
    internal: int
    """Internal links checked (each occurrence counts)."""
    external: int
    """External links checked for well-formedness."""
    xml_files: int
    problems: tuple[Problem, ...]
    """In file order; a problem repeated on many pages is listed once, naming how many."""

    def summary(self) -> str:
        return (f"Checked {self.pages} pages: {self.internal} internal links and {self.external} external "
                f"links, {self.xml_files} XML files; "
                + (f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}."
                   if self.problems else "no problems."))


@dataclass(frozen=True)
class _Page:
    """What the check needs of a page."""

    links: tuple[str, ...]
    ids: frozenset[str]
    bundles: tuple[str, ...]


PARALLEL_FROM = 2000
"""Pages from which reading is spread over the CPUs."""


def _read_pages(out_dir: Path, rels: list[str], workers: int | None) -> dict[str, _Page]:
    """Read and parse the pages `rels` of `out_dir`, on every CPU when there are many."""
    if workers is None:
        workers = min(os.cpu_count() or 1, 8) if len(rels) >= PARALLEL_FROM else 1
    if workers < 2:
        return dict(zip(rels, _parse_files(out_dir, rels)))
    chunks = [rels[i::workers] for i in range(workers)]
    with ProcessPoolExecutor(workers) as pool:
        results = list(pool.map(_parse_files, [out_dir] * workers, chunks))
    return {rel: page for chunk, parsed in zip(chunks, results) for rel, page in zip(chunk, parsed)}


def _parse_files(out_dir: Path, rels: list[str]) -> list[_Page]:
    pages = []
    for rel in rels:
        parser = _PageParser()
        parser.feed(_wanted_tags((out_dir / rel).read_text("utf-8", errors="replace")))
        parser.close()
        pages.append(_Page(tuple(parser.links), frozenset(parser.ids), tuple(parser.bundles)))
    return pages


class _PageParser(HTMLParser):
    """Collects the links and the ids of one page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.bundles: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value is None:
                continue
            if name in LINK_ATTRIBUTES:
                if tag == "link" and name == "href" and not value.strip():
                    continue
                self.links.append(value.strip())
            elif name in SRCSET_ATTRIBUTES:
                for candidate in value.split(","):
                    url = candidate.strip().split(" ")[0]
                    if url:
                        self.links.append(url)
            elif name == "id" or (name == "name" and tag == "a"):
                self.ids.add(value)
            elif name == BUNDLE_ATTRIBUTE:
                self.bundles.append(value.strip())

    handle_startendtag = handle_starttag


def check(config: Config, out_dir: Path | None = None) -> tuple[CheckReport, BuildResult | None]:
    """Check the site of `config`: the build already in `out_dir`, else a fresh one.

    Without `out_dir` the site is built (search index included) into a temporary directory
    that is removed afterwards; an `out_dir` that holds no sitegen build is built into.
    Returns the report and the build's result (None when an existing build was checked).
    """
    if out_dir is not None and (out_dir / MANIFEST).is_file():
        return check_site(out_dir, config.base_url), None
    with tempfile.TemporaryDirectory(prefix="sitegen-check-") as temp:
        target = out_dir if out_dir is not None else Path(temp) / "site"
        result = build(config, target)
        return check_site(target, config.base_url), result


def check_site(out_dir: Path, base_url: str = "", workers: int | None = None) -> CheckReport:
    """Check the built site in `out_dir`, served at `base_url` (normalised, or empty for `/`).

    Pages are read by `workers` processes; by default one per CPU for large sites.
    """
    base_path = urlsplit(base_url).path if base_url else "/"
    files = _output_files(out_dir)
    pages = _read_pages(out_dir, sorted(f for f in files if f.endswith((".html", ".htm"))), workers)
    resolver = _Resolver(files, pages, base_url, base_path)
    found: list[Problem] = []
    internal = external = 0
    for rel, parser in pages.items():
        page_url = base_path + rel.removesuffix("index.html")
        for link in parser.links:
            kind, message = resolver.check(link, page_url, rel)
            internal += kind == "internal"
            external += kind == "external"
            if message:
                found.append(Problem(rel, message))
        for bundle in parser.bundles:
            kind, message = resolver.check(bundle.rstrip("/") + "/pagefind.js", page_url, rel)
            if message:
                found.append(Problem(rel, f"search bundle {bundle} has no pagefind.js: build without "
                                          "--no-search"))
    xml_files = 0
    for rel in sorted(set(REQUIRED_XML) | {f for f in files if f.endswith(".xml")}):
        if rel not in files:
            found.append(Problem(rel, "missing"))
            continue
        xml_files += 1
        try:
            tree = ET.parse(out_dir / rel)
        except ET.ParseError as error:
            found.append(Problem(rel, f"not well-formed XML: {error}"))
            continue
        for url in _xml_links(tree.getroot()):
            kind, message = resolver.check(url, base_path + posixpath.dirname(rel) + "/", rel)
            internal += kind == "internal"
            external += kind == "external"
            if message:
                found.append(Problem(rel, message))
    return CheckReport(len(pages), internal, external, xml_files, _collapse(found))


class _Resolver:
    """Decides whether a URL found on a page leads to a file of the output."""

    def __init__(self, files: set[str], pages: dict[str, _Page], base_url: str, base_path: str):
        self.files = files
        self.pages = pages
        self.base_url = base_url
        self.base_path = base_path
        self.seen: dict[tuple[str, str | None], tuple[str, str | None]] = {}

    def check(self, url: str, page_url: str, page: str) -> tuple[str, str | None]:
        """(`internal` | `external` | `other`, problem message or None); remembered per URL."""
        relative = "#" in url or not url.startswith(("/", "http:", "https:"))
        key = (url, page_url if relative else None)
        if key not in self.seen:
            self.seen[key] = self._check(url, page_url, page)
        return self.seen[key]

    def _check(self, url: str, page_url: str, page: str) -> tuple[str, str | None]:
        if not url:
            return "internal", "empty link"
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme in IGNORED_SCHEMES:
            return "other", None
        if scheme in ("http", "https") or url.startswith("//"):
            if self.base_url and url.startswith(self.base_url):
                return "internal", self._internal(self.base_path + url[len(self.base_url):], url, page_url, page)
            if self.base_url and url.rstrip("/") + "/" == self.base_url:
                return "internal", self._internal(self.base_path, url, page_url, page)
            return "external", _malformed(url)
        if scheme:
            return "other", None
        return "internal", self._internal(url, url, page_url, page)

    def _internal(self, url: str, written: str, page_url: str, page: str) -> str | None:
        parts = urlsplit(urljoin(page_url, url))
        path = unquote(parts.path)
        if not path.startswith(self.base_path):
            return f"broken link {written} (outside the site's base path {self.base_path})"
        rel = path[len(self.base_path):]
        if parts.path == urlsplit(page_url).path and not parts.query and parts.fragment:
            target = page  # a fragment on the same page
        else:
            target = self._file(rel)
            if target is None:
                wanted = rel + "index.html" if rel.endswith("/") or not rel else rel
                return f"broken link {written} (no file {wanted or 'index.html'} in the output)"
        fragment = unquote(parts.fragment)
        if fragment and not fragment.startswith(":~:") and target in self.pages:
            if fragment not in self.pages[target].ids and fragment != "top":
                return f"broken link {written} (no id {fragment!r} on {target})"
        return None

    def _file(self, rel: str) -> str | None:
        if rel == "" or rel.endswith("/"):
            candidate = rel + "index.html"
            return candidate if candidate in self.files else None
        if rel in self.files:
            return rel
        if rel + "/index.html" in self.files:  # servers redirect dir to dir/
            return rel + "/index.html"
        return None


def _wanted_tags(html: str) -> str:
    """The start tags of `html` that carry a link, an id or a bundle, outside scripts and comments."""
    html = _SCRIPT_BODY.sub(lambda m: "<" + m[1] + m[2] if m[1] else "", html)
    return "".join(_closed(tag) for tag in _START_TAG.findall(html) if _WANTED_ATTRIBUTE.search(tag))


def _closed(tag: str) -> str:
    """The tag, closed again if it opens raw text, so the parser reads the tags that follow it."""
    name = re.match(r"<([a-zA-Z][^\s/>]*)", tag)[1].lower()
    return tag + f"</{name}>" if name in _RAW_TEXT else tag


def _malformed(url: str) -> str | None:
    """Why an external URL is malformed (copy debris in it), or None."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if not host or ("." not in host and host != "localhost"):
        return f"malformed external link {url} (no host name)"
    if _NOT_IN_URL.search(url):
        return f"malformed external link {url} (contains a space, brace, quote or bracket)"
    if url[-1] in _DEBRIS_END:
        return f"malformed external link {url} (ends in {url[-1]!r}, probably punctuation from the text)"
    for open_, close in ("()", "[]"):
        if url.endswith(close) and url.count(close) > url.count(open_):
            return f"malformed external link {url} (unbalanced {close!r} at the end)"
    return None


def _xml_links(root: ET.Element) -> Iterator[str]:
    """Links of an Atom feed (`link href`) or a sitemap (`loc`)."""
    for element in root.iter(f"{_ATOM}link"):
        href = element.get("href")
        if href:
            yield href
    for element in root.iter(f"{_SITEMAP}loc"):
        if element.text:
            yield element.text.strip()


def _output_files(out_dir: Path) -> set[str]:
    found = set()
    for directory, _, names in os.walk(out_dir):
        prefix = Path(directory).relative_to(out_dir).as_posix()
        prefix = "" if prefix == "." else prefix + "/"
        found.update(prefix + name for name in names if os.path.isfile(os.path.join(directory, name)))
    return found


def _collapse(problems: list[Problem]) -> tuple[Problem, ...]:
    """One line per distinct message: a template's broken link is reported once, with a count."""
    by_message: dict[str, list[str]] = {}
    for problem in problems:
        where = by_message.setdefault(problem.message, [])
        if problem.page not in where:
            where.append(problem.page)
    collapsed = []
    for message, where in by_message.items():
        others = len(where) - 1
        suffix = f" (also on {others} other page{'s' if others != 1 else ''})" if others else ""
        collapsed.append(Problem(where[0], message + suffix))
    return tuple(collapsed)
