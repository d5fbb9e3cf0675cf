"""File events under the watched paths, turned into change notices."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from watchdog import events
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

from ..content import is_junk
from .messages import ServeError, log

POLL_INTERVAL = 0.5
"""Seconds between scans with `--poll`."""


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
                    log(f"warning: cannot watch {path} ({error.strerror or error}); try --poll")
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
