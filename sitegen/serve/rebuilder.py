"""Debounced rebuilds on their own thread, one at a time; `Rebuild` is all it knows of the pipeline."""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Collection
from pathlib import Path

from ..diagnostics import BuildCancelled, BuildError, Diagnostic
from .broadcast import Broadcast

QUIET = 0.05
"""Seconds without file events before a rebuild starts."""
MAX_WAIT = 1.0
"""Seconds after the first unhandled event by which a rebuild starts, quiet or not."""

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


def _describe(changes: set[str]) -> str:
    names = sorted(Path(p).name for p in changes)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
