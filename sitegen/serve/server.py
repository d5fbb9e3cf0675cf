"""`serve()`: the preview server's threads started, run until Ctrl-C or SIGTERM, and stopped."""

from __future__ import annotations

import errno
import os
import signal
import threading
import webbrowser
from pathlib import Path

from .broadcast import Broadcast
from .handler import PreviewServer, SiteFiles
from .messages import ServeError, log
from .rebuilder import Rebuild, Rebuilder
from .watcher import Watcher


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
        rebuilder = Rebuilder(rebuild, broadcast, before_build=lambda: watcher.sync(), log=log)
        watcher = Watcher(watch, out_dir, rebuilder.changed, poll)
        watcher.start()
        rebuilder.build(set())
        rebuilder.start()
        print(f"Serving {url} (files in {out_dir}); press Ctrl-C to stop", flush=True)
        if open_browser:
            threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
        server.serve_forever()
    except KeyboardInterrupt:
        log("stopping")
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
