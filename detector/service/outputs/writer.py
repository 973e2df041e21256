"""Blocking writes (stdout, files) on a daemon thread, awaited from the event loop.

A stdout pipe whose reader stopped blocks ``write`` forever; doing it on a thread of its
own blocks only that output's worker, never the loop.  The thread is a daemon so a write
stuck at exit cannot hang the process (``concurrent.futures`` threads would be joined).
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any


class BlockingWriter:
    """Runs submitted callables one at a time on its own thread; one call outstanding at most."""

    def __init__(self, name: str) -> None:
        self._jobs: queue.Queue[tuple[Callable[[], Any], asyncio.AbstractEventLoop, asyncio.Future[Any]] | None] = (
            queue.Queue(maxsize=1)
        )
        self._thread = threading.Thread(target=self._loop, name=f"detector-{name}", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            fn, loop, future = job
            try:
                result = fn()
            except BaseException as exc:  # handed back to the awaiting coroutine
                loop.call_soon_threadsafe(_set_exception, future, exc)
            else:
                loop.call_soon_threadsafe(_set_result, future, result)

    async def run(self, fn: Callable[[], Any]) -> Any:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._jobs.put_nowait((fn, loop, future))
        # Shielded: cancelling the awaiting worker must not leave the thread's result unclaimed.
        return await asyncio.shield(future)

    def stop(self) -> None:
        try:
            self._jobs.put_nowait(None)
        except queue.Full:
            pass  # the thread is stuck in a write; it is a daemon and dies with the process


def _set_result(future: asyncio.Future[Any], value: Any) -> None:
    if not future.done():
        future.set_result(value)


def _set_exception(future: asyncio.Future[Any], exc: BaseException) -> None:
    if not future.done():
        future.set_exception(exc)
