"""The build state the browsers are told, and the pages they show."""

from __future__ import annotations

import json
import secrets
import threading
from collections import Counter, deque
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from itertools import dropwhile

from ..diagnostics import Diagnostic

HISTORY = 64
"""Builds remembered for browsers that connect late (`Broadcast.seen_from`)."""


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
