"""The service in-process, on test doubles of the engine, for behaviour that needs fine control:
reload validation, spool shedding, limits and auth, the JSON-lines inputs, file rotation, drain."""

from __future__ import annotations

import asyncio
import contextlib
import os
import stat
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

from detector.service.config import build_config
from detector.service.service import Service
from tests.sidecar_fakes import fake_dependencies

RULE_A = "- rule: Rule A\n  condition: proc.name=x\n  output: a\n  priority: warning\n"
RULE_B = "- rule: Rule B\n  condition: proc.name=x\n  output: b\n  priority: warning\n"
BROKEN = "- rule: Rule Broken\n  condition: proc.name=x\n  output: z\n  priority: warning\n- rule: Bad\n  condition: nonsense\n"


class Receiver:
    """A webhook receiver on loopback recording bodies (parsed) in arrival order."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        self.arrived = asyncio.Event()
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        if self.status == 200:
            body = await request.read()
            self.bodies.append(orjson.loads(body) if request.content_type == "application/json" else {"text": body})
            self.arrived.set()
        return web.Response(status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/", self._handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.bodies) < count:
                self.arrived.clear()
                await self.arrived.wait()


@contextlib.asynccontextmanager
async def running(tmp_path: Path, raw: dict[str, Any], rules: str = RULE_A) -> AsyncIterator[tuple[Service, Receiver]]:
    rules_file = tmp_path / "rules.yaml"
    if not rules_file.exists():
        rules_file.write_text(rules)
    receiver = Receiver()
    await receiver.start()
    base: dict[str, Any] = {
        "rules_files": [str(rules_file)],
        "watch_config_files": False,
        "webserver": {"listen_port": 0},
        "stdout_output": {"enabled": False},
        "http_output": {"enabled": True, "url": f"http://127.0.0.1:{receiver.port}/", "backoff_initial": 0.01,
                        "backoff_max": 0.05},
        "spool": {"path": str(tmp_path / "spool.db")},
        "delivery": {"drain_timeout": 2, "internal_alert_interval": 0},
    }
    for key, value in raw.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    service = Service(build_config(base, env={}), fake_dependencies())
    await service.start()
    try:
        yield service, receiver
    finally:
        await service.shutdown()
        await receiver.stop()


def run(coro: Callable[[], Awaitable[None]]) -> None:
    async def bounded() -> None:
        async with asyncio.timeout(30):
            await coro()

    asyncio.run(bounded())


def url(service: Service, path: str = "/") -> str:
    assert service.webserver is not None
    return f"http://127.0.0.1:{service.webserver.port}{path}"


def test_reload_validates_first_and_keeps_the_old_set(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, {}) as (service, receiver), aiohttp.ClientSession() as http:
            assert service.rules is not None
            rules_file = tmp_path / "rules.yaml"
            expected = []
            steps = [(RULE_B, "Rule B"), (BROKEN, "Rule B"), (RULE_A, "Rule A"), (BROKEN, "Rule A"),
                     (RULE_B, "Rule B"), (BROKEN, "Rule B")]
            for n, (text, running_rule) in enumerate(steps):
                rules_file.write_text(text)
                assert await service.rules.reload() == (text is not BROKEN)
                response = await http.post(url(service), json={"proc.name": "x", "n": n})
                assert response.status == 200
                expected.append(running_rule)
            await receiver.wait_for(6 + 3)  # 3 broken reloads raise one internal alert each
            user = [b["rule"] for b in receiver.bodies if b["source"] != "internal"]
            internal = [b for b in receiver.bodies if b["source"] == "internal"]
            assert user == expected
            assert len(internal) == 3
            assert all(b["priority"] == "Critical" and "rules reload failure" in b["output"] for b in internal)
            assert service.metrics.rules_reload_failures._value.get() == 3
            assert service.rules.current.number == 4  # 1 initial + 3 good reloads

    run(scenario)


def test_spool_bound_sheds_counts_and_alerts(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with running(tmp_path, {"spool": {"max_alerts": 20}}) as (service, receiver), aiohttp.ClientSession() as http:
            receiver.status = 503  # the webhook is down: everything stays spooled
            body = "\n".join(orjson.dumps({"proc.name": "x", "n": i}).decode() for i in range(50))
            response = await http.post(url(service), data=body, headers={"Content-Type": "application/x-ndjson"})
            assert response.status == 200
            assert (await response.json())["alerts"] == 50
            assert service.spool is not None and service.spool.size == 20
            dropped = service.metrics.output_dropped.labels("http")._value.get()
            assert dropped >= 30
            receiver.status = 200
            await receiver.wait_for(20)
            shed_alerts = [b for b in receiver.bodies if b["rule"] == "Detector internal: spool full"]
            assert len(shed_alerts) == 1
            assert service.metrics.spool_shed._value.get() == dropped

    run(scenario)


def test_limits_auth_and_probes(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n")

    async def scenario() -> None:
        raw = {"webserver": {"auth_token_file": str(token), "max_request_bytes": 2048}}
        async with running(tmp_path, raw) as (service, _), aiohttp.ClientSession() as http:
            assert (await http.get(url(service, "/healthz"))).status == 200
            assert (await http.get(url(service, "/readyz"))).status == 200
            assert (await http.get(url(service, "/metrics"))).status == 401
            wrong = {"Authorization": "Bearer nope"}
            assert (await http.post(url(service), json={"proc.name": "x"}, headers=wrong)).status == 401
            auth = {"Authorization": "Bearer s3cret"}
            assert (await http.get(url(service, "/metrics"), headers=auth)).status == 200
            assert (await http.post(url(service), data=b"x" * 5000, headers=auth)).status == 413
            assert (await http.post(url(service), data=b"[1,", headers=auth)).status == 400
            assert (await http.post(url(service), json=42, headers=auth)).status == 400
            assert (await http.get(url(service), headers=auth)).status == 405
            audit = await http.post(url(service, "/k8s-audit"), data=b"{}", headers={**auth, "Content-Type": "text/plain"})
            assert audit.status == 400 and await audit.text() == "wrong Content Type"
            assert (await http.post(url(service), json={"proc.name": "x"}, headers=auth)).status == 200

    run(scenario)


def test_unix_socket_and_tcp_json_lines(tmp_path: Path) -> None:
    sock = tmp_path / "in" / "events.sock"

    async def scenario() -> None:
        raw = {"inputs": {"json_lines": {"unix_socket": {"enabled": True, "path": str(sock)},
                                         "tcp": {"enabled": True, "port": 0}, "max_line_bytes": 1024}}}
        async with running(tmp_path, raw) as (service, receiver):
            assert stat.S_IMODE(os.stat(sock).st_mode) == 0o660
            reader, writer = await asyncio.open_unix_connection(str(sock))
            writer.write(b'{"proc.name":"x","n":1}\n{oops\n' + b'{"pad":"' + b"y" * 5000 + b'"}\n')
            writer.write(b'{"proc.name":"x","n":2}\r\n{"proc.name":"x","n":3}')  # last line unfinished
            await writer.drain()
            await receiver.wait_for(2)
            writer.write(b"\n")
            await writer.drain()
            await receiver.wait_for(3)
            writer.close()
            assert sorted(b["output_fields"]["n"] for b in receiver.bodies) == [1, 2, 3]
            bad = service.metrics.bad_inputs
            assert bad.labels("unix_socket", "invalid_json")._value.get() == 1
            assert bad.labels("unix_socket", "line_too_long")._value.get() == 1
        assert not sock.exists()  # removed at shutdown

    run(scenario)


def test_file_follow_rotation_truncation_and_checkpoint(tmp_path: Path) -> None:
    log = tmp_path / "events.jsonl"

    def line(n: int) -> bytes:
        return orjson.dumps({"proc.name": "x", "n": n}) + b"\n"

    async def scenario() -> None:
        raw = {"inputs": {"json_lines": {"files": [str(log)], "file_poll_interval": 0.02}}}
        log.write_bytes(line(1) + line(2))
        async with running(tmp_path, raw) as (_, receiver):
            await receiver.wait_for(2)
            with log.open("ab") as handle:
                handle.write(line(3)[:5])
                handle.flush()
                await asyncio.sleep(0.1)
                handle.write(line(3)[5:])
            await receiver.wait_for(3)
            os.rename(log, tmp_path / "events.jsonl.1")  # logrotate: move, then a new file
            log.write_bytes(line(4))
            await receiver.wait_for(4)
            log.write_bytes(b"")  # copytruncate: same inode, emptied, then written again
            await asyncio.sleep(0.1)
            log.write_bytes(line(5))
            await receiver.wait_for(5)
        numbers = [b["output_fields"]["n"] for b in receiver.bodies]
        assert numbers == [1, 2, 3, 4, 5]
        # Restart: the checkpoint says everything was handled; only new lines are read.
        with log.open("ab") as handle:
            handle.write(line(6))
        async with running(tmp_path, raw) as (_, receiver2):
            await receiver2.wait_for(1)
            await asyncio.sleep(0.1)
        assert [b["output_fields"]["n"] for b in receiver2.bodies] == [6]

    run(scenario)


def test_file_output_reopen_and_drain_report(tmp_path: Path) -> None:
    out = tmp_path / "alerts.txt"

    async def scenario() -> None:
        raw = {"json_output": False, "file_output": {"enabled": True, "filename": str(out)},
               "delivery": {"drain_timeout": 0.3}}
        async with running(tmp_path, raw) as (service, receiver), aiohttp.ClientSession() as http:
            await http.post(url(service), json={"proc.name": "x", "n": 1})
            await receiver.wait_for(1)
            async with asyncio.timeout(5):  # the file output works on its own: wait for its line too
                while not out.exists() or not out.read_text():
                    await asyncio.sleep(0.02)
            os.rename(out, tmp_path / "alerts.txt.1")
            service._reopen()  # what SIGUSR1 does
            receiver.status = 500
            await http.post(url(service), json={"proc.name": "x", "n": 2})
            async with asyncio.timeout(5):
                while not out.exists() or not out.read_text():
                    await asyncio.sleep(0.02)
            undelivered = await service.shutdown()
            assert [(u.output, u.count) for u in undelivered] == [("http", 1)]
        assert (tmp_path / "alerts.txt.1").read_text().endswith("Warning a\n")
        assert out.read_text().endswith("Warning a\n")

    run(scenario)


def test_rules_file_change_triggers_one_debounced_reload(tmp_path: Path) -> None:
    async def scenario() -> None:
        raw = {"watch_config_files": True, "watch_interval": 0.05, "reload_debounce": 0.2}
        async with running(tmp_path, raw) as (service, receiver), aiohttp.ClientSession() as http:
            assert service.rules is not None
            rules_file = tmp_path / "rules.yaml"
            for text in (RULE_B + "\n", RULE_B + "\n\n", RULE_B):  # written in several steps
                rules_file.write_text(text)
                await asyncio.sleep(0.06)
            async with asyncio.timeout(10):
                while service.rules.current.number < 2:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            assert service.rules.current.number == 2  # one reload for the burst of writes
            await http.post(url(service), json={"proc.name": "x", "n": 1})
            await receiver.wait_for(1)
            assert receiver.bodies[0]["rule"] == "Rule B"

    run(scenario)
