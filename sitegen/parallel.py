"""Both cores: run a function over chunks of a list in forked worker processes, or one call
beside the caller's own work (`Forked`).

Forked workers inherit the parent's memory, so the items (papers, page contexts) are never
pickled: only chunk numbers go to the workers, through a shared counter, and only the results
come back, through one pipe per worker. Chunks are handed out as workers ask for them, so a
worker slowed down by another program on the machine does not hold up the others.

Without `fork` (Windows, macOS' default), with one CPU, or for a few items, the function simply
runs in this process: the result is the same either way.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TypeVar

from .diagnostics import BuildCancelled, BuildError

T = TypeVar("T")
R = TypeVar("R")
POLL = 0.05
"""Seconds between asking whether a build is cancelled, while it waits for another process."""
GIVE_WAY = 10
"""How much lower the priority is of work beside the build's critical path: the render workers
and the data files beside the search indexer (at 10,000 papers: 22.4-22.5 s instead of
23.3-24.7 s), and either the related papers or classify beside the other (see `build`)."""
_PR_SET_PDEATHSIG = 1
"""Linux's `prctl` option: the signal a process gets when the one that forked it ends."""


@dataclass(frozen=True)
class Workers:
    """How a stage's work is shared: between `count` processes at `nice` lower priority, stopped
    once `cancelled()` is true."""

    count: int = 1
    nice: int = 0
    cancelled: Callable[[], bool] | None = None


def default_workers() -> int:
    """Worker processes for a build: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def fork_map(work: Callable[[Sequence[T]], list[R]], items: Sequence[T], *, workers: int,
             chunk: int, nice: int = 0) -> list[R]:
    """`work` applied to consecutive chunks of `items`; the results concatenated in item order.

    `work(chunk_of_items)` returns one result per item. A `BuildError` in a worker is raised
    here as it was raised there; any other exception becomes a RuntimeError that carries the
    worker's traceback. With `nice`, the workers run at that much lower priority (`fork_imap`).
    """
    parts = dict(fork_imap(work, items, workers=workers, chunk=chunk, numbered=True, nice=nice))
    return [result for start in sorted(parts) for result in parts[start]]


def fork_imap(work: Callable[[Sequence[T]], list[R]], items: Sequence[T], *, workers: int,
              chunk: int, numbered: bool = False, nice: int = 0,
              cancelled: Callable[[], bool] | None = None) -> Iterator:
    """Each chunk's results as soon as a worker has them, in no particular order.

    With `numbered`, `(index of the chunk's first item, results)` pairs. With `nice`, the
    workers run at that much lower priority (`os.nice`), giving way to another program. Once
    `cancelled()` is true, the workers are stopped and BuildCancelled is raised.
    """
    if workers <= 1 or len(items) <= chunk or "fork" not in multiprocessing.get_all_start_methods():
        for start in range(0, len(items), chunk):
            if cancelled and cancelled():
                raise BuildCancelled(work.__name__)
            results = work(items[start:start + chunk])
            yield (start, results) if numbered else results
        return
    context = multiprocessing.get_context("fork")
    counter = context.Value("l", 0)
    gc.freeze()  # the collector would otherwise touch every object and copy the shared pages
    processes, pipes = [], []
    try:
        for _ in range(min(workers, -(-len(items) // chunk))):
            receive, send = context.Pipe(duplex=False)
            process = context.Process(target=_worker, args=(work, items, chunk, counter, send, nice,
                                                            [*pipes, receive]), daemon=True)
            process.start()
            send.close()
            processes.append(process)
            pipes.append(receive)
        while pipes:
            ready = wait(pipes, POLL if cancelled else None)
            if cancelled and cancelled():
                raise BuildCancelled(work.__name__)
            for pipe in ready:
                try:
                    message = pipe.recv()
                except EOFError:
                    raise RuntimeError("a worker process died; see the messages above") from None
                if message[0] == "done":
                    pipes.remove(pipe)
                elif message[0] == "part":
                    yield (message[1], message[2]) if numbered else message[2]
                elif message[0] == "build-error":
                    raise BuildError(*message[1])
                else:
                    raise RuntimeError(f"in a worker process: {message[1]}")
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()  # see `_reporting_to_parent`
            process.join()
        gc.unfreeze()


def _worker(work: Callable, items: Sequence, chunk: int, counter, send: Connection, nice: int,
            inherited: list[Connection]) -> None:
    """Take chunks until none is left; send each chunk's results, then `done`."""
    with _reporting_to_parent(send, nice, inherited):
        while True:
            with counter.get_lock():
                start = counter.value
                counter.value = start + chunk
            if start >= len(items):
                break
            send.send(("part", start, work(items[start:start + chunk])))
        send.send(("done",))


@contextmanager
def _reporting_to_parent(send: Connection, nice: int, inherited: list[Connection]) -> Iterator[None]:
    """The frame of a forked process's work: Ctrl-C is the parent's to handle, an error goes to
    it, and it ends with the parent (`_end_with_parent`, which closes the `inherited` read ends);
    with `nice`, it runs at that much lower priority.

    A process that is no longer wanted (a cancelled build) is killed, not terminated: until it
    gets here it has the parent's signal handlers, and the preview server turns SIGTERM into
    KeyboardInterrupt, which would print a traceback from wherever the fresh process was.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _end_with_parent(inherited)
    try:
        if nice:
            os.nice(nice)
        yield
    except BuildError as error:
        d = error.diagnostic
        send.send(("build-error", (d.file, d.line, d.message)))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()
        sys.stdout.flush()
        sys.stderr.flush()


def _end_with_parent(inherited: list[Connection]) -> None:
    """Make this forked process end when its parent does, even by SIGKILL, instead of waiting
    forever to write a result that no one will read (and holding the parent's stdout and stderr).

    It closes the read ends of the pipes it inherited, its own among them: once no process
    reads a pipe, a write into it fails. Any other process forked meanwhile may hold one too, so
    on Linux the kernel is also asked to kill it when the parent ends (`PR_SET_PDEATHSIG`); a
    parent that ended before that is seen by its pid.
    """
    for connection in inherited:
        connection.close()
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:
        os._exit(1)


class Forked:
    """`function(*args)` computed in a forked process while this one goes on; `result()` waits
    for it and returns `then(value)`, `then` running in this process (to keep the value in a cache).

    With `nice`, the process runs at that much lower priority. Without `fork` (or with
    `fork=False`) it is all done here, at once. `close()` stops the
    process if its result was not taken (a build that failed meanwhile). The function runs in
    one process: it must not start workers of its own (a daemon process cannot).
    """

    def __init__(self, function: Callable[..., T], *args, then: Callable[[T], R] = lambda value: value,
                 fork: bool = True, nice: int = 0):
        self._process = None
        self._then = then
        self._name = getattr(function, "__name__", "a computation")
        if not fork or "fork" not in multiprocessing.get_all_start_methods():
            self._value = then(function(*args))
            return
        context = multiprocessing.get_context("fork")
        self._receive, send = context.Pipe(duplex=False)
        gc.freeze()  # as in fork_imap: the child's collector leaves the shared pages alone
        try:
            self._process = context.Process(target=_call, args=(function, args, send, nice, [self._receive]),
                                            daemon=True)
            self._process.start()
        finally:
            gc.unfreeze()
        send.close()

    def result(self, cancelled: Callable[[], bool] | None = None) -> R:
        """The value; once `cancelled()` is true, the process is stopped and BuildCancelled raised."""
        if self._process is None:
            return self._value
        while cancelled and not self._receive.poll(POLL):
            if cancelled():
                self.close()
                raise BuildCancelled(self._name)
        try:
            message = self._receive.recv()
        except EOFError:
            raise RuntimeError("a worker process died; see the messages above") from None
        finally:
            self.close()
        if message[0] == "build-error":
            raise BuildError(*message[1])
        if message[0] == "error":
            raise RuntimeError(f"in a worker process: {message[1]}")
        self._value = self._then(message[1])
        return self._value

    def close(self) -> None:
        if self._process is not None:
            if self._process.is_alive():
                self._process.kill()
            self._process.join()
            self._receive.close()
            self._process = None


def _call(function: Callable, args: tuple, send: Connection, nice: int, inherited: list[Connection]) -> None:
    with _reporting_to_parent(send, nice, inherited):
        send.send(("done", function(*args)))
