"""A fake arXiv API on 127.0.0.1: answers requests in order from a script of recorded answers.

Each step of the script is one of:

* `"batch1.xml"`: that file of `tests/fixtures/arxiv/`, as `200 application/atom+xml`;
* `(503, {"Retry-After": "1"})`: that status and headers, no body;
* `("slow", seconds, step)`: wait `seconds` (longer than the client's timeout), then answer `step`;
* `("raw", bytes)`: those bytes as the body of a 200 (garbled XML);
* `("call", function, step)`: call `function()` (e.g. kill the client), then answer `step`.

`requests` holds (monotonic time, query parameters) of every request, in order.
"""

from __future__ import annotations

import http.server
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures" / "arxiv"


class FakeArxiv:
    def __init__(self, script: list):
        self.script = list(script)
        self.requests: list[tuple[float, dict[str, str]]] = []
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the standard library's name
                params = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query, keep_blank_values=True).items()}
                fake.requests.append((time.monotonic(), params))
                step = fake.script.pop(0) if fake.script else (500, {})
                self._answer(step)

            def _answer(self, step) -> None:
                if isinstance(step, str):
                    self._send(200, {"Content-Type": "application/atom+xml; charset=utf-8"},
                               (FIXTURES / step).read_bytes())
                elif step[0] == "slow":
                    time.sleep(step[1])
                    self._answer(step[2])
                elif step[0] == "raw":
                    self._send(200, {"Content-Type": "application/atom+xml"}, step[1])
                elif step[0] == "call":
                    step[1]()
                    self._answer(step[2])
                else:
                    self._send(step[0], step[1], b"")

            def _send(self, status: int, headers: dict, body: bytes) -> None:
                try:
                    self.send_response(status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout step)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/query"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> FakeArxiv:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()

    @property
    def queries(self) -> list[str]:
        return [params.get("search_query", "") for _, params in self.requests]
