"""`sitegen serve` in a real process, for the preview server tests."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(predicate, timeout: float = 15.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout} s waiting for {message}")


class ServeProcess:
    """`python -m sitegen serve --source SITE --port PORT ...`, with its output collected."""

    def __init__(self, site: Path, *args: str, port: int = 0):
        self.site = site
        self.args = ["--source", str(site), "--port", str(port), *args]
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sitegen", "serve", *self.args], cwd=REPO, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        for stream, lines in ((self.process.stdout, self.stdout), (self.process.stderr, self.stderr)):
            threading.Thread(target=self._collect, args=(stream, lines), daemon=True).start()

    @staticmethod
    def _collect(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)

    def started(self, timeout: float = 30.0) -> ServeProcess:
        """Wait for the URL line; fail with the server's output if it exits first."""
        def url_line():
            if self.process.poll() is not None:
                raise AssertionError(f"serve exited with {self.process.returncode}:\n{self.output()}")
            return next((line for line in self.stdout if line.startswith("Serving ")), None)
        line = wait_until(url_line, timeout, "the server to start")
        match = re.match(r"Serving (http://([^/]+)(/\S*)) \(files in (.+?)\)", line)
        self.url, self.netloc, self.base_path, self.out_dir = match[1], match[2], match[3], Path(match[4])
        self.port = int(self.netloc.rsplit(":", 1)[1])
        return self

    def output(self) -> str:
        return "".join(self.stdout) + "".join(self.stderr)

    def builds(self) -> int:
        """Builds finished so far, successful or not."""
        return sum(1 for line in self.stderr if re.match(r"\S+ (built in|error: )", line))

    def outcome(self) -> str:
        """The outcome line of the latest build."""
        return ([""] + [line for line in self.stderr if re.match(r"\S+ (built in|error: )", line)])[-1]

    def wait_for_build(self, after: int, timeout: float = 60.0) -> str:
        """Wait until a build after the first `after` finished and the server is idle; return the
        outcome line of the last build."""
        wait_until(lambda: self.builds() > after, timeout, f"build {after + 1}\n{self.output()}")
        return self.settled()

    def settled(self, quiet: float = 1.0, timeout: float = 60.0) -> str:
        """Wait until every build that started has finished and none started for `quiet` seconds
        (a save seen half-written is built again once the editor closes the file); return the
        outcome of the last build."""
        def idle() -> bool:
            lines = len(self.stderr)
            time.sleep(quiet)
            started = sum(1 for line in self.stderr if re.match(r"\S+ building", line))
            return len(self.stderr) == lines and started == self.builds()
        wait_until(idle, timeout, f"the server to settle\n{self.output()}")
        return self.outcome()

    def request(self, path: str, method: str = "GET", host: str | None = None,
                headers: dict | None = None) -> tuple[int, dict, bytes]:
        """Send `path` exactly as given (no normalisation); return status, headers, body."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
            connection.putheader("Host", host if host is not None else self.netloc)
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            connection.endheaders()
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def get(self, path: str = "") -> bytes:
        status, _, body = self.request(self.base_path + path)
        assert status == 200, (path, status)
        return body

    def state(self, timeout: float = 10.0) -> dict:
        """The first message of the live-reload event stream: the current build id and error."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(f"GET {self.base_path}__sitegen/events HTTP/1.1\r\n"
                         f"Host: {self.netloc}\r\n\r\n".encode())
            data = b""
            while b"\ndata: " not in data or not data.split(b"\ndata: ", 1)[1].count(b"\n"):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data.split(b"\ndata: ", 1)[1].split(b"\n", 1)[0])

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"serve did not stop on signal {sig}:\n{self.output()}")
        time.sleep(0.05)  # let the reader threads drain the pipes
        return self.process.returncode


def strip_livereload(page: bytes) -> bytes:
    """A served page without the injected live-reload script: the bytes on disk."""
    return re.sub(rb"<script>\n\(function \(url, loaded, page\).*?</script>\n", b"", page, count=1, flags=re.S)
