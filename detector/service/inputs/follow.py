"""Follow a JSON-lines file across rotation, with a checkpoint kept in the spool.

The checkpoint (inode, offset after the last whole line handled) is written in the same
transaction as the alerts those lines produced, so after a crash reading resumes exactly
where the spooled alerts end.  A rotation (the path now names another inode) is noticed at
EOF: the old file is read once more after a poll interval for late writes, then the new
file is read from its start.  A file that shrank was truncated and is re-read from 0.
An unfinished last line is held until its newline arrives.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import BinaryIO

from detector.service.inputs.decode import LineFramer
from detector.service.inputs.lines import LineDecoder
from detector.service.metrics import Metrics
from detector.service.pipeline import Pipeline, Stopped, Work
from detector.service.protocols import Recogniser
from detector.service.spool import Checkpoint, Spool

log = logging.getLogger("detector.service")

_CHUNK = 65536


class FileFollower:
    def __init__(
        self,
        path: str,
        pipeline: Pipeline,
        recognise: Recogniser,
        metrics: Metrics,
        spool: Spool,
        *,
        max_line: int,
        poll_interval: float,
        start_at_end: bool,
    ) -> None:
        self.path = path
        self.name = "file_follow"
        self._key = f"file:{os.path.abspath(path)}"
        self._pipeline = pipeline
        self._decoder = LineDecoder(self.name, recognise, metrics)
        self._spool = spool
        self._max_line = max_line
        self._poll = poll_interval
        self._start_at_end = start_at_end

    async def run(self) -> None:
        try:
            await self._follow()
        except Stopped:
            return

    def _open(self, first: bool) -> tuple[BinaryIO, int, int] | None:
        try:
            handle = open(self.path, "rb")  # noqa: SIM115 - kept open across loop iterations
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._decoder.bad("unreadable", f"cannot open: {exc.strerror}", self.path)
            return None
        st = os.fstat(handle.fileno())
        offset = 0
        checkpoint = self._spool.checkpoint(self._key) if first else None
        if checkpoint is not None and checkpoint.inode == st.st_ino and checkpoint.offset <= st.st_size:
            offset = checkpoint.offset
        elif first and checkpoint is None and self._start_at_end:
            offset = st.st_size
        handle.seek(offset)
        log.info("following %s from byte %d", self.path, offset)
        return handle, st.st_ino, offset

    async def _follow(self) -> None:
        first = True
        while True:
            opened = self._open(first)
            if opened is None:
                await asyncio.sleep(self._poll)
                continue
            first = False
            handle, inode, base = opened
            try:
                await self._read_file(handle, inode, base)
            finally:
                handle.close()

    async def _read_file(self, handle: BinaryIO, inode: int, base: int) -> None:
        framer = LineFramer(self._max_line)
        rotated_seen = False
        while True:
            chunk = handle.read(_CHUNK)
            if chunk:
                await self._submit(framer, chunk, inode, base)
                continue
            try:
                st = os.stat(self.path)
            except FileNotFoundError:
                st = None
            if st is not None and st.st_ino == inode:
                if st.st_size < base + framer.consumed + framer.pending:
                    log.info("%s was truncated; reading it again from the start", self.path)
                    handle.seek(0)
                    framer = LineFramer(self._max_line)
                    base = 0
                rotated_seen = False
                await asyncio.sleep(self._poll)
                continue
            if st is None or not rotated_seen:
                # Rotated or removed: give a writer still holding the old file one interval to finish.
                rotated_seen = st is not None
                await asyncio.sleep(self._poll)
                continue
            if framer.pending:
                self._decoder.bad("truncated", f"rotated with an unfinished last line ({framer.pending} bytes)",
                                  self.path)
            log.info("%s was rotated; following the new file", self.path)
            return

    async def _submit(self, framer: LineFramer, chunk: bytes, inode: int, base: int) -> None:
        too_long = framer.too_long
        lines = framer.feed(chunk)
        for _ in range(framer.too_long - too_long):
            self._decoder.bad("line_too_long", f"line longer than {self._max_line} bytes skipped", self.path)
        records = self._decoder.decode(lines, self.path)
        checkpoint = Checkpoint(self._key, inode, base + framer.consumed)
        await self._pipeline.submit(Work(self.name, records, checkpoint=checkpoint), wait_durable=False)
