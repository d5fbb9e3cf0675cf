"""Both cores: run a function over chunks of a list in forked worker processes.

Forked workers inherit the parent's memory, so the items (papers, page contexts) are never
pickled: only chunk numbers go to the workers, through a shared counter, and only the results
come back, through one pipe per worker. Chunks are handed out as workers ask for them, so a
worker slowed down by another program on the machine does not hold up the others.

Without `fork` (Windows, macOS' default), with one CPU, or for a few items, the function simply
runs in this process: the result is the same either way.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import TypeVar

from .diagnostics import BuildError

T = TypeVar("T")
R = TypeVar("R")


def default_workers() -> int:
    """Worker processes for a build: the CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def fork_map(work: Callable[[Sequence[T]], list[R]], items: Sequence[T], *, workers: int,
             chunk: int) -> list[R]:
    """`work` applied to consecutive chunks of `items`; the results concatenated in item order.

    `work(chunk_of_items)` returns one result per item. A `BuildError` in a worker is raised
    here as it was raised there; any other exception becomes a RuntimeError that carries the
    worker's traceback.
    """
    parts = dict(fork_imap(work, items, workers=workers, chunk=chunk, numbered=True))
    return [result for start in sorted(parts) for result in parts[start]]


def fork_imap(work: Callable[[Sequence[T]], list[R]], items: Sequence[T], *, workers: int,
              chunk: int, numbered: bool = False, nice: int = 0) -> Iterator:
    """Each chunk's results as soon as a worker has them, in no particular order.

    With `numbered`, `(index of the chunk's first item, results)` pairs. With `nice`, the
    workers run at that much lower priority (`os.nice`), giving way to another program.
    """
    if workers <= 1 or len(items) <= chunk or "fork" not in multiprocessing.get_all_start_methods():
        for start in range(0, len(items), chunk):
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
            process = context.Process(target=_worker, args=(work, items, chunk, counter, send, nice), daemon=True)
            process.start()
            send.close()
            processes.append(process)
            pipes.append(receive)
        while pipes:
            for pipe in wait(pipes):
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
                process.terminate()
            process.join()
        gc.unfreeze()


def _worker(work: Callable, items: Sequence, chunk: int, counter, send: Connection, nice: int) -> None:
    """Take chunks until none is left; send each chunk's results, then `done`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        if nice:
            os.nice(nice)
        while True:
            with counter.get_lock():
                start = counter.value
                counter.value = start + chunk
            if start >= len(items):
                break
            send.send(("part", start, work(items[start:start + chunk])))
        send.send(("done",))
    except BuildError as error:
        d = error.diagnostic
        send.send(("build-error", (d.file, d.line, d.message)))
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises it
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()
        sys.stdout.flush()
        sys.stderr.flush()
