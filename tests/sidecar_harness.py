"""Driving ``detector run`` as a real process on loopback: a webhook receiver, the process, certificates."""

from __future__ import annotations

import contextlib
import datetime
import http.server
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ALERT_ID_HEADER = "X-Detector-Alert-Id"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], bool], timeout: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class Receiver:
    """A falcosidekick-like webhook on 127.0.0.1 that records every alert it accepts.

    ``stop()`` closes the port (connection refused), ``start()`` opens it again on the same port.
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.lock = threading.Lock()
        self.alerts: list[dict[str, Any]] = []
        self.ids: list[str] = []
        self.headers: list[dict[str, str]] = []
        self._server: http.server.ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Receiver:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    receiver.alerts.append(orjson.loads(body))
                    receiver.ids.append(self.headers.get(ALERT_ID_HEADER, ""))
                    receiver.headers.append(dict(self.headers))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.alerts)

    def count(self) -> int:
        with self.lock:
            return len(self.alerts)

    def rules(self) -> Counter[str]:
        return Counter(a["rule"] for a in self.snapshot())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"


class Sidecar:
    """One ``detector run`` process with its config file, log files and spool in ``workdir``."""

    def __init__(self, workdir: Path, config: dict[str, Any], *, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.config = {
            "webserver": {"listen_port": self.port},
            "stdout_output": {"enabled": False},
            "spool": {"path": str(workdir / "spool.db")},
            "watch_config_files": False,
            **config,
        }
        self.config["webserver"] = {"listen_port": self.port, **config.get("webserver", {})}
        self.config_path = workdir / "detector.yaml"
        self.config_path.write_text(yaml.safe_dump(self.config))
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        code = "from detector.cli.main import main; main()"
        return [sys.executable, "-c", code, "run", "--config", str(self.config_path)]

    def start(self, *, wait: bool = True) -> Sidecar:
        self.starts += 1
        log = (self.workdir / f"sidecar-{self.starts}.log").open("wb")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT, env=env)
        log.close()
        if wait:
            self.wait_ready()
        return self

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.workdir.glob("sidecar-*.log")))

    def wait_ready(self, timeout: float = 20.0) -> None:
        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"detector run exited with {self.proc.returncode}:\n{self.log_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.base_url + "/readyz", timeout=1) as response:
                    return bool(response.status == 200)
            except (urllib.error.URLError, OSError):
                return False

        wait_until(ready, timeout, "the sidecar to be ready")

    def metrics(self) -> dict[str, float]:
        with urllib.request.urlopen(self.base_url + "/metrics", timeout=5) as response:
            text = response.read().decode()
        values: dict[str, float] = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values

    def metric(self, name: str, default: float = 0.0) -> float:
        return self.metrics().get(name, default)

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self, timeout: float = 20.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise AssertionError("detector run did not stop on SIGTERM") from None


@contextlib.contextmanager
def sidecar(workdir: Path, config: dict[str, Any], **kwargs: Any) -> Iterator[Sidecar]:
    process = Sidecar(workdir, config, **kwargs)
    try:
        yield process
    finally:
        if process.proc is not None and process.proc.poll() is None:
            process.proc.kill()
            process.proc.wait(10)


def post(url: str, body: Any, *, headers: dict[str, str] | None = None, timeout: float = 5.0) -> tuple[int, bytes]:
    data = body if isinstance(body, bytes) else orjson.dumps(body)
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post_until_accepted(url: str, body: Any, *, deadline: float, headers: dict[str, str] | None = None) -> int:
    """At-least-once client: resend until a 200; returns the number of attempts."""
    attempts = 0
    while True:
        attempts += 1
        try:
            status, _ = post(url, body, headers=headers, timeout=2.0)
            if status == 200:
                return attempts
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not accept an event before the deadline")
        time.sleep(0.05)


def make_certs(directory: Path) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, as PEM files."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)

    def key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = key()
    ca = (
        x509.CertificateBuilder().subject_name(name("detector test CA")).issuer_name(name("detector test CA"))
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    paths: dict[str, Path] = {}

    def write(label: str, data: bytes) -> None:
        path = directory / label
        path.write_bytes(data)
        paths[label] = path

    write("ca.crt", ca.public_bytes(serialization.Encoding.PEM))
    for role, usage in (("server", ExtendedKeyUsageOID.SERVER_AUTH), ("client", ExtendedKeyUsageOID.CLIENT_AUTH)):
        leaf_key = key()
        builder = (
            x509.CertificateBuilder().subject_name(name(f"detector test {role}")).issuer_name(ca.subject)
            .public_key(leaf_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        if role == "server":
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
        cert = builder.sign(ca_key, hashes.SHA256())
        write(f"{role}.crt", cert.public_bytes(serialization.Encoding.PEM))
        write(f"{role}.key", leaf_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()))
    return paths
