"""Falco's output channels beyond a plain stream: ``program_output`` and fan-out to several sinks.

``program_output`` runs ``program`` through ``sh -c`` and writes each alert line
to its standard input: with ``keep_alive`` one process serves every alert,
otherwise a process is spawned per alert, as Falco does.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from detector.outputs.alert import Alert
from detector.outputs.sinks import AlertSink, LineFormat


class ProgramSink:
    def __init__(self, program: str, fmt: LineFormat | None = None, *, keep_alive: bool = False) -> None:
        self.program = program
        self._fmt = fmt or LineFormat()
        self._keep_alive = keep_alive
        self._proc: subprocess.Popen[bytes] | None = None
        self.written = 0
        self.failed = 0
        self.last_error: str | None = None

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(["/bin/sh", "-c", self.program], stdin=subprocess.PIPE)

    def write(self, alert: Alert) -> bool:
        data = self._fmt.line(alert)
        try:
            if self._keep_alive:
                if self._proc is None:
                    self._proc = self._spawn()
                assert self._proc.stdin is not None
                self._proc.stdin.write(data)
                self._proc.stdin.flush()
            else:
                proc = self._spawn()
                proc.communicate(data)
        except OSError as exc:
            self.failed += 1
            self.last_error = f"program '{self.program}': {exc}"
            self._stop()
            return False
        self.written += 1
        return True

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin is not None:
                    proc.stdin.close()
            except OSError:
                pass
            proc.wait()

    def reopen(self) -> None:
        """SIGUSR1 in Falco respawns the program."""
        self._stop()

    def close(self) -> None:
        self._stop()


class FanoutSink:
    """Every alert to every sink; one failing sink does not stop the others."""

    def __init__(self, sinks: Sequence[AlertSink]) -> None:
        self.sinks = tuple(sinks)

    def write(self, alert: Alert) -> bool:
        ok = True
        for sink in self.sinks:
            ok = sink.write(alert) and ok
        return ok

    def close(self) -> None:
        for sink in self.sinks:
            sink.close()
