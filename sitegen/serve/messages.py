"""What the preview server tells the person running it: why it cannot start, and what it does."""

from __future__ import annotations

import sys
import time


class ServeError(Exception):
    """The server cannot start; the message says why and what to do."""


def log(message: str) -> None:
    """Print `message` to stderr after the time of day, to the millisecond."""
    now = time.time()
    print(f"{time.strftime('%H:%M:%S', time.localtime(now))}.{int(now % 1 * 1000):03d} {message}",
          file=sys.stderr, flush=True)
