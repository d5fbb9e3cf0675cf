"""Preview server: watch the sources, rebuild, serve the output, reload the browser.

Modelled on MkDocs' livereload: the server knows nothing about sitegen's pipeline, only a
`rebuild(pages_written, superseded, viewed)` callable (`Rebuild`) that brings the output
directory up to date.

Threads:

- the main thread accepts connections (`serve_forever`) and stops on SIGINT or SIGTERM;
- one daemon thread per connection serves a file, or holds an event stream open;
- watchdog's observer thread turns file events into `Rebuilder.changed()` calls;
- the rebuilder thread waits until the changes have been quiet for `QUIET` seconds (or
  `MAX_WAIT` seconds have passed since the first one, so a stream of events cannot starve
  it), calls `rebuild()`, and publishes the new `BuildState`;
- every event stream waits on that state and sends each new one to its browser, whose
  script reloads the page on a new build id or shows the build error over the page.

Each event stream names the page its browser shows, so a rebuild can write the open pages
first and reload their browsers before it writes the rest (as Hugo's fast render mode does).
Each new build id comes with the one before it, and each browser is told whether its page
changed between the two: a browser one id behind whose page did not change stays as it is.
A browser that connects (a page just loaded, a tab shown again) names the id its page was
served at, and is told whether its page changed in any of the builds since, while the server
remembers them (`HISTORY`).
"""

from __future__ import annotations

import errno
import html
import json
import mimetypes
import os
import re
import secrets
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
import webbrowser
from collections import Counter, deque
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import dropwhile
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote_to_bytes

from watchdog import events
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from .content import is_junk
from .diagnostics import BuildCancelled, BuildError, Diagnostic

QUIET = 0.05
"""Seconds without file events before a rebuild starts."""
MAX_WAIT = 1.0
"""Seconds after the first unhandled event by which a rebuild starts, quiet or not."""
POLL_INTERVAL = 0.5
"""Seconds between scans with `--poll`."""
EVENTS_PATH = "__sitegen/events"
"""The event stream's path under the base path."""
PING_INTERVAL = 15.0
"""Seconds between keep-alive comments on an idle event stream."""
HISTORY = 64
"""Builds remembered for browsers that connect late (`Broadcast.seen_from`)."""
CONNECTION_TIMEOUT = 10.0
"""Seconds a client may take to send a request or take a response."""

PagesWritten = Callable[[Collection[str] | None], None]
Rebuild = Callable[[PagesWritten, Callable[[], bool], frozenset[str]], None]
"""`rebuild(pages_written, superseded, viewed)`: bring the output directory up to date with the sources.

Raises `BuildError` when the sources are wrong, leaving the previous output in place. May call
`pages_written(changed)` each time files are on disk, with the output paths it wrote or removed
(None: any), so browsers reload before slower later stages (the rest of the pages, the search
index) finish; returning counts as written too. `viewed` are the output paths of the pages
open in browsers, worth writing first. `superseded()` turns true when files change again (or
the server stops): after `pages_written()`, the rebuild may then give up its later stages by
raising `BuildCancelled`, and the next rebuild does them.
"""


class ServeError(Exception):
    """The server cannot start; the message says why and what to do."""


@dataclass(frozen=True)
class BuildState:
    """What the browsers are told."""

    build: str
    """Id of the site on disk: changes each time a build writes files, and at every server start."""
    error: Diagnostic | None = None
    """Why the last rebuild failed, or None when it succeeded."""
    since: str | None = None
    """The id before this one."""
    changed: frozenset[str] | None = None
    """Output paths written or removed since the id before; None when any file may have changed."""

    def to_json(self, page: str | None = None) -> str:
        """The state as a browser showing `page` is told it: `changed` says whether that page changed."""
        error = self.error and {"where": f"{self.error.file}:{self.error.line}" if self.error.line
                                else self.error.file, "message": self.error.message}
        changed = None if self.changed is None or page is None else page in self.changed
        return json.dumps({"build": self.build, "since": self.since, "changed": changed, "error": error,
                           "built": self.since is not None})


class Broadcast:
    """The current `BuildState`, a way to wait for the next one, and the pages browsers show."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(4)
        self._count = 0
        self._cond = threading.Condition()
        self.state = BuildState(f"{self._prefix}-0")
        self.closed = False
        self._viewers: Counter[str] = Counter()
        self._history: deque[BuildState] = deque([self.state], maxlen=HISTORY)
        """The latest states with a new id, the current one last."""

    def publish(self, *, new_site: bool, error: Diagnostic | None = None,
                changed: Collection[str] | None = None) -> None:
        """A new state: with `new_site`, a new build id whose files `changed`; else the same id."""
        with self._cond:
            if new_site:
                self._count += 1
                self.state = BuildState(f"{self._prefix}-{self._count}", error, since=self.state.build,
                                        changed=None if changed is None else frozenset(changed))
                self._history.append(self.state)
            else:
                self.state = replace(self.state, error=error)
            self._cond.notify_all()

    @contextmanager
    def viewing(self, page: str | None) -> Iterator[None]:
        """While a browser shows `page` (an output path; None for a page that is not a file)."""
        with self._cond:
            self._viewers[page] += 1
        try:
            yield
        finally:
            with self._cond:
                self._viewers[page] -= 1
                if not self._viewers[page]:
                    del self._viewers[page]

    def viewed(self) -> frozenset[str]:
        """Output paths of the pages open in browsers."""
        with self._cond:
            return frozenset(page for page in self._viewers if page is not None)

    def seen_from(self, state: BuildState, loaded: str | None) -> BuildState:
        """`state` as told to a browser whose page was served at the id `loaded`: since `loaded`,
        with every file changed by the builds after it, if they are all remembered.

        A page that loaded while two builds were published, the second changing other files
        only, then stays as it is instead of loading again.
        """
        with self._cond:
            if loaded is None or loaded in (state.build, state.since):
                return state
            changed: set[str] = set()
            # newest first, from `state` on
            for past in dropwhile(lambda past: past.build != state.build, reversed(self._history)):
                if past.changed is None:
                    return state  # any file may have changed
                changed |= past.changed
                if past.since == loaded:
                    return replace(state, since=loaded, changed=frozenset(changed))
            return state

    def wait(self, seen: BuildState | None, timeout: float) -> BuildState:
        """The state once it differs from `seen`, or after `timeout` seconds."""
        with self._cond:
            self._cond.wait_for(lambda: self.state is not seen or self.closed, timeout)
            return self.state

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()


class Rebuilder:
    """Debounces change notices and runs `rebuild` on its own thread, one build at a time."""

    def __init__(self, rebuild: Rebuild, broadcast: Broadcast, before_build: Callable[[], None],
                 log: Callable[[str], None]):
        self._rebuild = rebuild
        self._broadcast = broadcast
        self._before_build = before_build
        self._log = log
        self._cond = threading.Condition()
        self._first: float | None = None
        """Monotonic time of the first change not yet built, or None."""
        self._last = 0.0
        self._changes: set[str] = set()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sitegen-rebuild", daemon=True)

    def changed(self, path: str) -> None:
        """Note a change; called from the watcher thread."""
        with self._cond:
            now = time.monotonic()
            if self._first is None:
                self._first = now
            self._last = now
            self._changes.add(path)
            self._cond.notify()

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Stop after the build in progress, if any (one that only catches up stops early).

        `serve` holds further Ctrl-Cs meanwhile (`_hold_interrupts`): the build thread would go
        on writing into the output while it is removed.
        """
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while (changes := self._next_changes()) is not None:
            self.build(changes)

    def _next_changes(self) -> set[str] | None:
        """Wait for changes, then for quiet or the maximum wait; None when stopping."""
        with self._cond:
            self._cond.wait_for(lambda: self._first is not None or self._stopping)
            while not self._stopping:
                due = min(self._last + QUIET, self._first + MAX_WAIT)
                if time.monotonic() >= due:
                    break
                self._cond.wait(due - time.monotonic())
            if self._stopping:
                return None
            changes, self._changes, self._first = self._changes, set(), None
            return changes

    def build(self, changes: set[str]) -> None:
        """Rebuild now and publish the outcome; never raises an error of the build."""
        started = time.perf_counter()
        published = announced = False

        def pages_written(changed: Collection[str] | None = None) -> None:
            nonlocal published, announced
            self._broadcast.publish(new_site=True, changed=changed)
            published = True
            if changed is not None and not changed:
                return  # a new id all the same: it takes down an error shown over the pages
            seconds = time.perf_counter() - started
            if not announced:
                self._log(f"pages written in {seconds:.2f} s" + ("; reloading browsers" if changes else ""))
            else:
                files = "more files" if changed is None else f"{len(changed)} more file{'s' * (len(changed) > 1)}"
                self._log(f"{files} written in {seconds:.2f} s")
            announced = True

        why = f" ({_describe(changes)} changed)" if changes else ""
        self._log(f"building{why}")
        try:
            self._before_build()
            self._rebuild(pages_written, self._superseded, self._broadcast.viewed())
        except BuildCancelled:
            if not published:
                pages_written()
            self._log(f"stopped after {time.perf_counter() - started:.2f} s: "
                      + ("the server is stopping" if self._stopping else "files changed, building again"))
            return
        except BuildError as error:
            self._fail(error.diagnostic)
            return
        except Exception as error:  # a bug, not bad input: show it, keep serving the last good site
            traceback.print_exc()
            self._fail(Diagnostic("sitegen", 0, f"internal error: {error!r}; see the terminal"))
            return
        if not published:
            pages_written()
        self._log(f"built in {time.perf_counter() - started:.2f} s")

    def _superseded(self) -> bool:
        """Whether a change came in, or the server is stopping, since this build began."""
        return self._first is not None or self._stopping

    def _fail(self, diagnostic: Diagnostic) -> None:
        self._log(f"error: {diagnostic}")
        if self._broadcast.state.since is not None:
            self._log("still serving the last good site; fix the problem and save to rebuild")
        else:
            self._log("nothing is served yet: no build has worked; fix the problem and save to build again")
        self._broadcast.publish(new_site=False, error=diagnostic)


_WATCHED_EVENTS = [events.FileCreatedEvent, events.FileModifiedEvent, events.FileDeletedEvent,
                   events.FileMovedEvent, events.FileClosedEvent, events.DirCreatedEvent,
                   events.DirDeletedEvent, events.DirMovedEvent]
"""Writes, creations, deletions and renames; not opens and reads (the build reads every file)."""

class Watcher(events.FileSystemEventHandler):
    """Reports changes to the watched paths (files, or directories and all below them).

    Each path's parent is watched without recursion, so a path that is created, deleted or
    replaced by a rename later is noticed; each directory is watched with recursion. Call
    `sync()` before each build to follow directories that appeared or were replaced.
    """

    def __init__(self, paths: list[Path], ignore: Path, changed: Callable[[str], None], poll: bool):
        self._paths = sorted({Path(os.path.abspath(p)) for p in paths})
        self._ignore = {Path(os.path.abspath(ignore)), Path(os.path.realpath(ignore))}
        """The output directory: the build's own writes are not changes."""
        self._changed = changed
        self._observer = PollingObserver(timeout=POLL_INTERVAL) if poll else Observer()
        self._dir_watches: dict[Path, tuple[object, tuple[int, int]]] = {}
        """Recursive watch of each watched directory, and the (device, inode) it watches."""

    def start(self) -> None:
        for parent in sorted({p.parent for p in self._paths}):
            self._observer.schedule(self, str(parent), event_filter=_WATCHED_EVENTS)
        self.sync()
        try:
            self._observer.start()
        except OSError as error:
            raise ServeError(f"cannot watch {self._paths[0].parent} for changes ({error.strerror or error}); "
                             "try --poll, which scans for changes instead") from None

    def stop(self) -> None:
        self._observer.stop()
        if self._observer.is_alive():
            self._observer.join()

    def sync(self) -> None:
        """Watch each watched directory that exists now, and stop watching the ones that went."""
        for path in self._paths:
            try:
                info = path.stat()
                identity = (info.st_dev, info.st_ino) if path.is_dir() else None
            except OSError:
                identity = None
            watch, watched = self._dir_watches.get(path, (None, None))
            if identity == watched:
                continue
            if watch is not None:
                del self._dir_watches[path]
                try:
                    self._observer.unschedule(watch)
                except KeyError:
                    pass
            if identity is not None:
                try:
                    watch = self._observer.schedule(self, str(path), recursive=True,
                                                    event_filter=_WATCHED_EVENTS)
                except OSError as error:
                    _log(f"warning: cannot watch {path} ({error.strerror or error}); try --poll")
                    continue
                self._dir_watches[path] = (watch, identity)

    def on_any_event(self, event: events.FileSystemEvent) -> None:
        if event.is_directory and event.event_type == events.EVENT_TYPE_MODIFIED:
            return  # a file inside changed: that file's own event says which
        for raw in (event.src_path, getattr(event, "dest_path", "")):
            path = os.fsdecode(raw)
            if path and self._relevant(Path(path)):
                self._changed(path)
                return

    def _relevant(self, path: Path) -> bool:
        if is_junk(path.name) or any(path.is_relative_to(p) for p in self._ignore):
            return False
        return any(path == p or path.is_relative_to(p) for p in self._paths)


def serve(rebuild: Rebuild, out_dir: Path, *, watch: list[Path], base_path: str = "/",
          host: str = "127.0.0.1", port: int = 8000, poll: bool = False,
          open_browser: bool = False) -> None:
    """Build, serve `out_dir` at `base_path`, rebuild on changes to `watch`, until SIGINT/SIGTERM.

    Raises ServeError when the server cannot start (port in use, cannot watch files).
    """
    broadcast = Broadcast()
    site = SiteFiles(Path(os.path.realpath(out_dir)), base_path, host, broadcast)
    try:
        server = PreviewServer((host, port), site)
    except (OSError, OverflowError) as error:
        raise ServeError(_listen_error(host, port, error)) from None
    url = f"http://{_url_host(host)}:{server.server_address[1]}{base_path}"
    _on_sigterm_interrupt()
    watcher = rebuilder = None
    try:
        rebuilder = Rebuilder(rebuild, broadcast, before_build=lambda: watcher.sync(), log=_log)
        watcher = Watcher(watch, out_dir, rebuilder.changed, poll)
        watcher.start()
        rebuilder.build(set())
        rebuilder.start()
        print(f"Serving {url} (files in {out_dir}); press Ctrl-C to stop", flush=True)
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        server.serve_forever()
    except KeyboardInterrupt:
        _log("stopping")
    finally:
        _hold_interrupts()
        broadcast.close()
        server.server_close()
        if watcher is not None:
            watcher.stop()
        if rebuilder is not None:
            rebuilder.stop()


def _on_sigterm_interrupt() -> None:
    """Make SIGTERM stop the server like Ctrl-C does (signals reach the main thread only)."""
    def interrupt(signum, frame):
        raise KeyboardInterrupt
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def _hold_interrupts() -> None:
    """While and after the server stops, Ctrl-C and SIGTERM are ignored: cutting short the build
    in progress, or the removal of the temporary output after `serve` returns, would leave files
    behind. The process ends once that is done. (Ignored, not handled: Python puts back the
    default action of signals it handles as it exits, and one arriving then would kill it.)"""
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)


def _listen_error(host: str, port: int, error: BaseException) -> str:
    code = getattr(error, "errno", None)
    if code == errno.EADDRINUSE:
        return (f"port {port} on {host} is already in use (another sitegen serve?); stop that server "
                f"or choose another port, for example --port {port + 1 if port < 65535 else 8001}")
    if code == errno.EACCES:
        return f"not allowed to listen on port {port}; ports below 1024 need privileges: use --port 8000"
    if isinstance(error, OverflowError):
        return f"port {port} is not a port number; use one from 1 to 65535, for example --port 8000"
    reason = getattr(error, "strerror", None) or str(error)
    return f"cannot listen on {host}:{port} ({reason}); check --host, for example --host 127.0.0.1"


def _url_host(host: str) -> str:
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


def _describe(changes: set[str]) -> str:
    names = sorted(Path(p).name for p in changes)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")


def _log(message: str) -> None:
    now = time.time()
    print(f"{time.strftime('%H:%M:%S', time.localtime(now))}.{int(now % 1 * 1000):03d} {message}",
          file=sys.stderr, flush=True)


# --- HTTP ---------------------------------------------------------------------------------

_LIVERELOAD_JS = """\
(function (url, loaded, page) {
  "use strict";
  var source = null, overlay = null;
  function show(error, built) {
    if (!overlay) {
      overlay = document.createElement("div");
      overlay.id = "sitegen-error";
      overlay.setAttribute("role", "alert");
      overlay.style.cssText = "position:fixed;inset:0;z-index:2147483647;overflow:auto;margin:0;" +
        "padding:2rem;background:rgba(24,24,27,.94);color:#fafafa;text-align:left;" +
        "font:15px/1.5 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:pre-wrap";
      document.body.appendChild(overlay);
    }
    overlay.textContent = "";
    var title = document.createElement("strong");
    title.textContent = built ? "sitegen: the rebuild failed; showing the last good build\\n\\n"
                              : "sitegen: the build failed; there is no site to show yet\\n\\n";
    var where = document.createElement("span");
    where.className = "sitegen-error-where";
    where.style.color = "#fca5a5";
    where.textContent = error.where;
    var message = document.createElement("span");
    message.className = "sitegen-error-message";
    message.textContent = ": " + error.message + "\\n\\nFix it and save: this page reloads by itself.";
    overlay.append(title, where, message);
  }
  function connect() {
    if (source) return;
    source = new EventSource(url + "?since=" + encodeURIComponent(loaded) +
                             (page === null ? "" : "&page=" + encodeURIComponent(page)));
    source.onmessage = function (event) {
      var state = JSON.parse(event.data);
      if (state.build !== loaded) {
        // Reload unless the build just after this page's changed other files only.
        var kept = state.since === loaded && state.changed === false;
        if (!kept) { location.reload(); return; }
        loaded = state.build;
      }
      if (state.error) show(state.error, state.built);
      else if (overlay) { overlay.remove(); overlay = null; }
    };
    source.onerror = function () {
      if (source.readyState === EventSource.CLOSED) { source = null; setTimeout(connect, 1000); }
    };
  }
  document.addEventListener("visibilitychange", function () {
    // Hidden tabs let go of their connection: browsers allow only a few per server.
    if (document.visibilityState === "hidden" && source) { source.close(); source = null; }
    else if (document.visibilityState === "visible") connect();
  });
  if (document.visibilityState !== "hidden") connect();
})(%s, %s, %s);
"""

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
        return f"<script>\n{_LIVERELOAD_JS % (url, build, page)}</script>\n".encode()


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
