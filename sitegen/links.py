"""Find URLs in abstracts, strip the debris copied along with them, classify them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

LINK_KINDS = {
    "code": "Code",
    "project": "Project page",
    "model": "Model",
    "dataset": "Dataset",
    "demo": "Demo",
    "video": "Video",
    "paper": "Paper",
}
"""Link kinds in display order, with their labels."""

_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?*'\"»”’"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_CODE_HOSTS = {"github.com", "gitlab.com", "bitbucket.org", "codeberg.org", "git.sr.ht"}
_HUB_HOSTS = {"huggingface.co", "hf.co", "b-61j.pages.dev"}
_VIDEO_HOSTS = {"youtube.com", "youtu.be", "vimeo.com", "bilibili.com", "b23.tv"}
_PAPER_HOSTS = {"arxiv.org", "doi.org", "openreview.net", "aclanthology.org"}


@dataclass(frozen=True)
class Link:
    """A cleaned link found in a text."""

    url: str
    """The real target, without trailing punctuation or copy debris."""
    kind: str
    """One of LINK_KINDS."""
    start: int
    """Offset of the URL in the text it was found in."""
    end: int
    """Offset just past the cleaned URL; anything after it is left as text."""


def clean_url(raw: str) -> str:
    """Cut copy debris from a URL: `{...}` tails, unbalanced brackets, trailing punctuation."""
    url = raw.split("{", 1)[0]
    # Count brackets once and move an end index: slicing and counting per character would be
    # quadratic, and a hostile line can end a URL with megabytes of `)` or `.`.
    counts = {c: url.count(c) for pair in _PAIRS.items() for c in pair}
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _TRAILING:
            end -= 1
        elif last in _PAIRS and counts[_PAIRS[last]] < counts[last]:
            counts[last] -= 1
            end -= 1
        else:
            break
    return url[:end]


def classify_url(url: str) -> str:
    """Tell what a URL points at from its host and path shape."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.").removeprefix("m.")
    segments = [s for s in parts.path.split("/") if s]
    if host in _CODE_HOSTS:
        return "code"
    if host in _HUB_HOSTS:
        if segments[:1] == ["datasets"]:
            return "dataset"
        if segments[:1] == ["spaces"]:
            return "demo"
        if segments[:1] == ["papers"]:
            return "paper"
        return "model" if len(segments) >= 2 else "project"
    if host in _VIDEO_HOSTS:
        return "video"
    if host in _PAPER_HOSTS:
        return "paper"
    return "project"


def find_links(text: str) -> list[Link]:
    """Every http(s) link in `text`, cleaned and classified, in order of appearance."""
    if "://" not in text:  # most abstracts have no link: skip the regex
        return []
    links = []
    for match in _URL.finditer(text):
        url = clean_url(match.group())
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:  # a malformed IPv6 literal or port: leave it as text
            continue
        if not host or "." not in host:
            continue
        if "@" in parts.netloc:  # `https://github.com@evil.example/` goes elsewhere than it reads
            continue
        links.append(Link(url, classify_url(url), match.start(), match.start() + len(url)))
    return links
