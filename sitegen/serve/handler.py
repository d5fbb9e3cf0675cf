"""HTTP: the output directory's files with the live-reload script injected, and the event stream."""

from __future__ import annotations

import html
import json
import mimetypes
import os
import re
import socket
import socketserver
import sys
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote_to_bytes

from .broadcast import Broadcast

EVENTS_PATH = "__sitegen/events"
"""The event stream's path under the base path."""
PING_INTERVAL = 15.0
"""Seconds between keep-alive comments on an idle event stream."""
CONNECTION_TIMEOUT = 10.0
"""Seconds a client may take to send a request or take a response."""
LIVERELOAD_JS = (Path(__file__).parent / "livereload.js").read_text("utf-8")
"""The script each served page gets (`SiteFiles.snippet`), with its three `%s`: the event stream's URL,
the build id the page was served at, the page's output path."""

_CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8", ".mjs": "text/javascript; charset=utf-8",
    ".json": "application/json", ".xml": "application/xml", ".txt": "text/plain; charset=utf-8",
    ".svg": "image/svg+xml", ".wasm": "application/wasm", ".webmanifest": "application/manifest+json",
}


@dataclass(frozen=True)
class SiteFiles:
    """What the request handlers need: where the files are, where they are served, who may ask."""

    root: Path
    """Real path of the output directory."""
    base_path: str
    """URL path the site is served under: `/` or `/repo/`."""
    host: str
    """The address the server listens on (`--host`)."""
    broadcast: Broadcast

    def host_allowed(self, header: str | None) -> bool:
        """Whether a Host header names this server, so a DNS-rebound name cannot read the site."""
        if header is None:
            return True  # HTTP/1.0 clients may omit it; browsers always send it
        match = re.fullmatch(r"(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?", header.strip())
        if not match:
            return False
        name = match[1].strip("[]").lower().rstrip(".")
        listen = self.host.strip("[]").lower()
        if name in ("localhost", "127.0.0.1", "::1", listen) or name.endswith(".localhost"):
            return True
        if listen in ("", "0.0.0.0", "::"):  # listening on every interface: any address literal
            return _is_ip(name) or name == socket.gethostname().lower()
        return False

    def snippet(self, page: str | None = None) -> bytes:
        """The live-reload script for `page` (an output path; None when no file was found) of the
        build that is on disk now."""
        url, build, page = (json.dumps(value).replace("</", "<\\/")
                            for value in (self.base_path + EVENTS_PATH, self.broadcast.state.build, page))
        return f"<script>\n{LIVERELOAD_JS % (url, build, page)}</script>\n".encode()


def _is_ip(name: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
        return True
    except OSError:
        return False


def inject(page: bytes, snippet: bytes) -> bytes:
    """`page` with `snippet` before its last `</body>` (at the end when it has none)."""
    index = page.lower().rfind(b"</body>")
    return page[:index] + snippet + page[index:] if index >= 0 else page + snippet


class PreviewServer(ThreadingHTTPServer):
    """A threaded HTTP server for one `SiteFiles`."""

    daemon_threads = True
    block_on_close = False
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], site: SiteFiles):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.site = site
        super().__init__(address, RequestHandler)

    def server_bind(self) -> None:
        socketserver.TCPServer.server_bind(self)  # skip HTTPServer's reverse DNS lookup
        self.server_name, self.server_port = str(self.server_address[0]), self.server_address[1]

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler):
    """GET and HEAD of files inside the output directory, and the live-reload event stream."""

    server: PreviewServer
    protocol_version = "HTTP/1.1"
    default_request_version = "HTTP/1.0"  # errors to garbage get a status line (no HTTP/0.9 replies)
    timeout = CONNECTION_TIMEOUT

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _not_allowed(self) -> None:
        self.send_error(HTTPStatus.METHOD_NOT_ALLOWED, "The preview server only serves GET and HEAD.")

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def version_string(self) -> str:
        return "sitegen"

    def log_message(self, format: str, *args) -> None:
        pass  # one line per request drowns the rebuild messages

    def _respond(self, head: bool) -> None:
        site = self.server.site
        if len(self.headers.get_all("Host") or []) > 1 or not site.host_allowed(self.headers.get("Host")):
            self.send_error(HTTPStatus.FORBIDDEN, "Host not allowed",
                            "This server answers only to the address it listens on, such as localhost.")
            return
        target, _, query = self.path.partition("#")[0].partition("?")
        path = _decode_path(target)
        if path is None:
            self.send_error(HTTPStatus.BAD_REQUEST, "Bad path")
            return
        base = site.base_path
        if path == base.rstrip("/") or (path == "/" and base != "/"):
            self._redirect(base, query)
            return
        if not path.startswith(base):
            self._not_found(head)
            return
        rel = path[len(base):]
        if rel == EVENTS_PATH:
            fields = parse_qs(query)
            self._event_stream(head, fields.get("page", [None])[0], fields.get("since", [None])[0])
            return
        parts = [part for part in rel.split("/") if part]
        if any(part.startswith(".") for part in parts):
            # The manifest, and what a killed build leaves (.sitegen-tmp/ with half a site):
            # hidden files are sitegen's bookkeeping, never pages.
            self._not_found(head)
            return
        file = _contained(site.root, parts)
        if file is not None and file.is_dir():
            if not rel.endswith("/") and parts:
                self._redirect(base + "/".join(parts) + "/", query)
                return
            file = _contained(site.root, [*parts, "index.html"])
        if file is None or not file.is_file():
            self._not_found(head)
            return
        self._send_file(HTTPStatus.OK, file, head)

    def _send_file(self, status: int, file: Path, head: bool) -> None:
        site = self.server.site
        page = file.relative_to(site.root).as_posix() if status == HTTPStatus.OK else None
        snippet = site.snippet(page)  # before reading: the page is at least this new
        try:
            data = file.read_bytes()
        except OSError:
            self.send_error(HTTPStatus.NOT_FOUND, "Not found")
            return
        suffix = file.suffix.lower()
        if suffix in (".html", ".htm"):
            data = inject(data, snippet)
        content_type = _CONTENT_TYPES.get(suffix) or mimetypes.guess_type(file.name)[0] \
            or "application/octet-stream"
        self._send(status, content_type, data, head)

    def _not_found(self, head: bool) -> None:
        page = _contained(self.server.site.root, ["404.html"])
        if page is not None and page.is_file():
            self._send_file(HTTPStatus.NOT_FOUND, page, head)
            return
        base = html.escape(self.server.site.base_path)
        body = ("<!doctype html><meta charset=utf-8><title>Not found</title><body><h1>Not found</h1>"
                f'<p>There is no page here. The site is at <a href="{base}">{base}</a>.</p></body>').encode()
        self._send(HTTPStatus.NOT_FOUND, "text/html; charset=utf-8", inject(body, self.server.site.snippet()),
                   head)

    def _send(self, status: int, content_type: str, data: bytes, head: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def _redirect(self, path: str, query: str) -> None:
        """Redirect to a path this server built (never to the request's text: no open redirects)."""
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", quote(path) + (f"?{query}" if query else ""))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _event_stream(self, head: bool, page: str | None, loaded: str | None) -> None:
        """Server-sent events: the current BuildState now, then each new one, to a browser showing
        `page`, served at the build id `loaded`."""
        broadcast = self.server.site.broadcast
        self.close_connection = True
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        if head:
            return
        try:
            with broadcast.viewing(page):
                self._send_states(broadcast, page, loaded)
        except OSError:
            pass  # the browser went away

    def _send_states(self, broadcast: Broadcast, page: str | None, loaded: str | None) -> None:
        self.wfile.write(b"retry: 1000\n\n")
        seen = None
        while not broadcast.closed:
            state = broadcast.wait(seen, PING_INTERVAL)
            if broadcast.closed:
                break
            told = broadcast.seen_from(state, loaded) if seen is None else state
            self.wfile.write(f"data: {told.to_json(page)}\n\n".encode() if state is not seen else b": ping\n\n")
            seen = state


def _decode_path(target: str) -> str | None:
    """The request path, percent-decoded once; None when it is not a plain absolute path."""
    if not target.startswith("/"):
        return None
    try:
        path = unquote_to_bytes(target).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if any(ord(c) < 32 or c in "\\\x7f" for c in path):
        return None
    if any(part in (".", "..") for part in path.split("/")):
        return None
    return path


def _contained(root: Path, parts: list[str]) -> Path | None:
    """`root/parts...` resolved through any symlinks, or None when that leaves `root`."""
    try:
        real = os.path.realpath(os.path.join(root, *parts))
    except (OSError, ValueError):
        return None
    if real != str(root) and not real.startswith(str(root) + os.sep):
        return None
    return Path(real)
