"""Shared fixtures: real builds of the seed site, a static file server, a real Chromium.

* `run_sitegen(*args)`: the real command line in a subprocess.
* `make_site(root, {name: listing})`: a small site declared inline (Hugo's integration tests do
  the same): its listings, `sitegen.toml` and any other file.
* `seed_source`: a copy of the repository's default site (sitegen.toml and content/).
* `built_site(base_url="", search=True)`: the seed site built once per session and setting
  (treat the result as read-only; copy it to change it).
* `static_server(root, prefix="/")`: serves `root` at `http://127.0.0.1:PORT<prefix>` (the way
  GitHub Pages serves a project site under `/repo/`), 404.html for missing files.
* `browser`: Debian's Chromium through Playwright, launched once per session.
* `page`: a fresh page in that browser; `page.console_errors` lists console errors and
  uncaught exceptions seen on it.

Every test that uses `browser` (or `page`) is marked `browser`; `slow` is marked by hand.
"""

from __future__ import annotations

import contextlib
import http.server
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parent.parent
YEAR_2025 = '[listings."a.txt"]\nyear = 2025\n'
"""A `sitegen.toml` that puts the dates without a year of listing `a.txt` in 2025."""
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def run_sitegen(*args: str, cwd: Path | None = None, timeout: float = 600,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """`sitegen ARGS...` in a subprocess, as a user runs it; `env` adds to the environment."""
    return subprocess.run([sys.executable, "-m", "sitegen", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **env} if env else None)


def make_site(root: Path, listings: dict[str, str], *, config: str | None = None,
              files: dict[str, str] | None = None) -> Path:
    """A site at `root`: `content/listings/<name>` holding each of `listings`, `sitegen.toml`
    holding `config` (none if None), and each of `files` at its path under `root`."""
    written = {**{f"content/listings/{name}": text for name, text in listings.items()},
               **({"sitegen.toml": config} if config is not None else {}), **(files or {})}
    for path, text in written.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text, encoding="utf-8")
    return root


def copy_seed_source(dest: Path) -> Path:
    """The repository's default site (config and content, not the theme) copied to `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(ROOT / "sitegen.toml", dest / "sitegen.toml")
    shutil.copytree(ROOT / "content", dest / "content")
    return dest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark `browser` the tests that use Chromium, so `-m "not browser"` leaves them out."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def seed_source(tmp_path_factory) -> Path:
    """A read-only copy of the seed site's source."""
    return copy_seed_source(tmp_path_factory.mktemp("seed-source"))


@pytest.fixture(scope="session")
def built_site(tmp_path_factory, seed_source) -> Callable[..., Path]:
    """Factory: the seed site built with `base_url` (and the search index unless `search=False`)."""
    cache: dict[tuple[str, bool], Path] = {}

    def build(base_url: str = "", search: bool = True) -> Path:
        key = (base_url, search)
        if key not in cache:
            out = tmp_path_factory.mktemp("seed-site") / "site"
            args = ["build", "--source", str(seed_source), "--out", str(out), "--quiet"]
            if base_url:
                args += ["--base-url", base_url]
            if not search:
                args.append("--no-search")
            result = run_sitegen(*args)
            assert result.returncode == 0, result.stderr
            cache[key] = out
        return cache[key]

    return build


class _SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serves `root` under `prefix` like a static host: `dir/` -> `dir/index.html`, 404.html."""

    root: Path
    prefix: str
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".js": "text/javascript",
                      ".json": "application/json", ".xml": "application/xml",
                      ".pagefind": "application/octet-stream"}

    def translate_path(self, path: str) -> str:
        url_path = unquote(urlsplit(path).path)
        if not url_path.startswith(self.prefix):
            return str(self.root / "\0missing")
        rel = url_path[len(self.prefix):]
        target = (self.root / rel).resolve()
        root = self.root.resolve()
        if target != root and root not in target.parents:
            return str(self.root / "\0missing")
        return str(target)

    def send_error(self, code, message=None, explain=None):
        page = self.root / "404.html"
        if code == 404 and page.is_file():
            body = page.read_bytes()
            self.send_response(404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        super().send_error(code, message, explain)

    def log_message(self, format, *args):  # keep test output quiet
        pass


@contextlib.contextmanager
def serve_directory(root: Path, prefix: str = "/") -> Iterator[str]:
    """Serve `root` at `http://127.0.0.1:PORT<prefix>` on a free port; yields that URL."""
    prefix = "/" + prefix.strip("/") + "/" if prefix.strip("/") else "/"
    handler = type("Handler", (_SiteHandler,), {"root": Path(root), "prefix": prefix})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}{prefix}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def static_server() -> Iterator[Callable[..., str]]:
    """Factory: `static_server(root, prefix="/")` -> base URL; servers stop after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda root, prefix="/": stack.enter_context(serve_directory(root, prefix))


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, driven by Playwright (its own browser downloads are not used)."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A new page in a fresh context; `page.console_errors` collects errors seen on it."""
    context = browser.new_context()
    new_page = context.new_page()
    errors: list[str] = []
    new_page.on("console", lambda message: errors.append(f"console: {message.text}")
                if message.type == "error" else None)
    new_page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    new_page.console_errors = errors
    yield new_page
    context.close()
