"""Shared by the hostile-input, output-safety and reproducibility tests: run the real CLI,
snapshot output trees, and look for hostile markup in every file a build wrote."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
LISTINGS = "content/listings"

# Markup from the hostile listings that must never reach an output file unescaped.
RAW_PAYLOADS = (b"<script>alert", b"<img src=x", b"<svg onload", b"<b onmouseover", b"<style>*{}")
_URL_ATTRIBUTES = frozenset({"href", "src", "action", "formaction", "poster", "cite", "data",
                             "background", "xlink:href", "srcset"})
_SAFE_SCHEMES = frozenset({"http", "https", "mailto"})


def sitegen(*args: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """`python -m sitegen ARGS` in a fresh interpreter, with this checkout importable."""
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), environment.get("PYTHONPATH")]))
    return subprocess.run([sys.executable, "-m", "sitegen", *map(str, args)], cwd=cwd, env=environment,
                          capture_output=True, text=True, errors="replace", timeout=timeout)


def build(source: Path, out: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    result = sitegen("build", "--source", source, "--out", out, *args, **kwargs)
    assert "Traceback" not in result.stderr, result.stderr
    return result


def make_site(root: Path, listings: dict[str, bytes | str], config: str = "") -> Path:
    """A site source with the given listings (file name -> content) and sitegen.toml."""
    (root / LISTINGS).mkdir(parents=True, exist_ok=True)
    for name, data in listings.items():
        (root / LISTINGS / name).write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    if config:
        (root / "sitegen.toml").write_text(config, encoding="utf-8")
    return root


def snapshot(root: Path, exclude: tuple[str, ...] = ()) -> dict[str, bytes]:
    """Every entry under `root` by relative path: file bytes, `symlink -> target`, or `dir`."""
    entries: dict[str, bytes] = {}
    if not root.exists():
        return entries
    for directory, dirs, files in os.walk(root):
        base = Path(directory)
        for name in sorted(dirs + files):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if rel.startswith(exclude):
                continue
            if path.is_symlink():
                entries[rel] = b"symlink -> " + os.fsencode(os.readlink(path))
            elif path.is_dir():
                entries[rel] = b"dir"
            else:
                entries[rel] = path.read_bytes()
    return entries


def digest(entries: dict[str, bytes]) -> str:
    h = hashlib.sha256()
    for rel in sorted(entries):
        h.update(rel.encode() + b"\0" + hashlib.sha256(entries[rel]).digest())
    return h.hexdigest()


class _Page(HTMLParser):
    """Start tags, attributes, script elements and the first <h1>'s text, the way a browser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.scripts: list[list] = []  # [attributes, text]
        self.h1: str | None = None
        self._script: list | None = None
        self._h1: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, attrs))
        if tag == "script":
            self._script = [dict(attrs), ""]
            self.scripts.append(self._script)
        elif tag == "h1" and self.h1 is None:
            self._h1 = []

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None
        elif tag == "h1" and self._h1 is not None:
            self.h1, self._h1 = "".join(self._h1), None

    def handle_data(self, data):
        if self._script is not None:
            self._script[1] += data
        if self._h1 is not None:
            self._h1.append(data)


def parse_page(data: bytes) -> _Page:
    page = _Page()
    page.feed(data.decode("utf-8"))
    page.close()
    return page


def url_problem(value: str) -> str | None:
    """Why a URL attribute value is unsafe, or None. Browsers drop tabs, newlines and leading
    controls from URLs and ignore case in schemes: `JaVa\\tscript:` is `javascript:`."""
    folded = re.sub(r"[\x00-\x20]", "", value).lower()
    if folded.startswith(("javascript:", "vbscript:")):  # in a path (`https://x/a.javascript:b`) it is text
        return "script URL"
    match = re.match(r"([a-z][a-z0-9+.\-]*):", folded)
    if match and match[1] not in _SAFE_SCHEMES:
        return f"{match[1]}: URL"
    return None


def markup_problems(out: Path) -> list[str]:
    """Hostile markup in any file a build wrote: each problem as `path: what`."""
    problems = []
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        problems += file_problems(path.relative_to(out).as_posix(), path.read_bytes())
    return problems


def file_problems(rel: str, data: bytes) -> list[str]:
    """Hostile markup in one output file, by its path relative to the output root."""
    if rel.startswith("pagefind/"):
        return [f"{rel}: {p}" for p in _pagefind_problems(rel, data)]
    problems = [f"{rel}: unescaped {payload.decode()!r}" for payload in RAW_PAYLOADS if payload in data.lower()]
    if rel.endswith(".html"):
        problems += [f"{rel}: {p}" for p in _html_problems(data)]
    elif rel.endswith((".xml", ".svg")):
        problems += [f"{rel}: {p}" for p in _xml_problems(data)]
    elif rel.endswith(".json"):
        try:
            json.loads(data)
        except ValueError as error:
            problems.append(f"{rel}: not JSON ({error})")
    return problems


def _html_problems(data: bytes) -> list[str]:
    page = parse_page(data)
    problems = []
    for tag, attrs in page.elements:
        for name, value in attrs:
            if name.startswith("on"):
                problems.append(f"<{tag} {name}=...> event handler attribute")
            elif name in _URL_ATTRIBUTES and value and (why := url_problem(value)):
                problems.append(f"<{tag} {name}={value[:60]!r}>: {why}")
    for attrs, text in page.scripts:
        if "src" in attrs:
            if not (attrs["src"] or "").startswith("/") or url_problem(attrs["src"] or ""):
                problems.append(f"script from {attrs['src']!r}")
        elif attrs.get("type") == "application/ld+json":
            try:
                json.loads(text)
            except ValueError:
                problems.append(f"JSON-LD script broken open: {text[:80]!r}")
        elif "alert(" in text:
            problems.append(f"inline script runs listing text: {text[:80]!r}")
    return problems


def _xml_problems(data: bytes) -> list[str]:
    try:
        root = ET.fromstring(data)
    except ET.ParseError as error:
        return [f"not well-formed XML ({error})"]
    problems = []
    for element in root.iter():
        local = element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""
        if local == "script":
            problems.append("script element")
        for name, value in element.attrib.items():
            name = name.rsplit("}", 1)[-1]
            if name.startswith("on"):
                problems.append(f"<{local} {name}> event handler attribute")
            elif name == "href" and (why := url_problem(value)):
                problems.append(f"<{local} href={value[:60]!r}>: {why}")
    return problems


def pagefind_records(out: Path) -> list[dict]:
    """The decoded page fragments of the Pagefind index in `out`, if there is one."""
    records = []
    for path in sorted((out / "pagefind" / "fragment").glob("*")):
        data = gzip.decompress(path.read_bytes())
        records.append(json.loads(data.removeprefix(b"pagefind_dcd")))
    return records


def _pagefind_problems(rel: str, data: bytes) -> list[str]:
    """Pagefind keeps page text as text (the search page shows it with textContent); check that
    the fragments decode and no URL in them is a script URL."""
    if "/fragment/" not in rel:
        return []
    try:
        record = json.loads(gzip.decompress(data).removeprefix(b"pagefind_dcd"))
    except (OSError, ValueError) as error:
        return [f"fragment does not decode ({error})"]
    return [f"fragment url {record.get('url')!r}"] if url_problem(record.get("url", "")) else []
