"""Conditions over the real exported captures, checked against counts computed independently.

Every expectation is plain Python over the decoded events, written from the
semantics (absent field: false; ``!=`` on a socket: both endpoints differ...),
not from the compiler; the compiled condition and the interpreter must both
agree with it, event by event.
"""

from __future__ import annotations

import fnmatch
import gzip
import ipaddress
import json
from collections.abc import Callable
from functools import cache
from typing import Any

import pytest

from detector.codegen import compile_expr, interpret
from detector.language import parse
from tests.shared import shared_dir

Event = dict[str, Any]


@cache
def _events() -> tuple[Event, ...]:
    base = shared_dir()
    if base is None:
        return ()
    events: list[Event] = []
    for path in sorted((base / "data" / "events").glob("*.jsonl.gz")):
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            events.extend(json.loads(line) for line in fh if line.strip())
    return tuple(events)


def g(event: Event, key: str) -> Any:
    return event.get(key)


def present(event: Event, key: str) -> bool:
    return event.get(key) is not None


def ancestors(event: Event, prefix: str) -> list[Any]:
    out = []
    level = 1
    while event.get(f"{prefix}[{level}]") is not None:
        out.append(event[f"{prefix}[{level}]"])
        level += 1
    return out


def ip(text: Any) -> Any:
    return None if text is None else ipaddress.ip_address(text)


def endpoints(event: Event, a: str, b: str) -> list[Any]:
    return [event[k] for k in (a, b) if event.get(k) is not None]


def components(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


def pmatch(value: str, prefixes: tuple[str, ...]) -> bool:
    parts = components(value)
    return any(components(p) == parts[: len(components(p))] for p in prefixes)


def u32(value: int) -> int:
    return value & 0xFFFFFFFF


NET_24 = ipaddress.ip_network("192.168.0.0/24")
NET_V6 = ipaddress.ip_network("2600:1f18::/32")

CASES: list[tuple[str, Callable[[Event], bool]]] = [
    ("evt.type = open", lambda e: g(e, "evt.type") == "open"),
    ("evt.type in (connect, accept, sendto)", lambda e: g(e, "evt.type") in ("connect", "accept", "sendto")),
    ("evt.type != switch", lambda e: present(e, "evt.type") and g(e, "evt.type") != "switch"),
    ("evt.dir = <", lambda e: g(e, "evt.dir") == "<"),
    ("evt.category in (net, file)", lambda e: g(e, "evt.category") in ("net", "file")),
    ("proc.name = curl", lambda e: g(e, "proc.name") == "curl"),
    ("proc.name != curl", lambda e: present(e, "proc.name") and g(e, "proc.name") != "curl"),
    ("not proc.name = curl", lambda e: g(e, "proc.name") != "curl"),
    ("proc.name exists", lambda e: present(e, "proc.name")),
    ("not proc.pname exists", lambda e: not present(e, "proc.pname")),
    ("proc.name = '<NA>'", lambda e: g(e, "proc.name") == "<NA>"),
    ("proc.name > 5", lambda e: present(e, "proc.name") and g(e, "proc.name") > "5"),
    ("fd.name <= 1", lambda e: present(e, "fd.name") and g(e, "fd.name") <= "1"),
    ("fd.name startswith /etc/", lambda e: present(e, "fd.name") and g(e, "fd.name").startswith("/etc/")),
    ("fd.name endswith .conf", lambda e: present(e, "fd.name") and g(e, "fd.name").endswith(".conf")),
    ("fd.name contains resolv", lambda e: present(e, "fd.name") and "resolv" in g(e, "fd.name")),
    ("fd.name icontains RESOLV", lambda e: present(e, "fd.name") and "resolv" in g(e, "fd.name").lower()),
    ("fd.name glob '/etc/*.conf'", lambda e: present(e, "fd.name") and fnmatch.fnmatchcase(g(e, "fd.name"), "/etc/*.conf")),
    ("fd.name iglob '/ETC/HOST*'", lambda e: present(e, "fd.name") and fnmatch.fnmatchcase(g(e, "fd.name").lower(), "/etc/host*")),
    ("fd.name glob '/lib/*/libnss_?iles.so.[0-9]'",
     lambda e: present(e, "fd.name") and fnmatch.fnmatchcase(g(e, "fd.name"), "/lib/*/libnss_?iles.so.[0-9]")),
    ("fd.name pmatch (/etc, /usr/lib)", lambda e: present(e, "fd.name") and pmatch(g(e, "fd.name"), ("/etc", "/usr/lib"))),
    ("fd.directory in (/etc, /tmp)", lambda e: g(e, "fd.directory") in ("/etc", "/tmp")),
    ("fd.filename = hosts", lambda e: g(e, "fd.filename") == "hosts"),
    ("proc.cmdline regex '.*curl.*google.*'",
     lambda e: present(e, "proc.cmdline") and "curl" in g(e, "proc.cmdline")
     and "google" in g(e, "proc.cmdline")[g(e, "proc.cmdline").index("curl"):]),
    ("proc.exepath regex '/usr/(s)?bin/[a-z]+'",
     lambda e: present(e, "proc.exepath")
     and any(g(e, "proc.exepath") == f"/usr/{d}/{n}" for d in ("bin", "sbin")
             for n in [g(e, "proc.exepath").rsplit("/", 1)[-1]] if n.isalpha() and n.islower())),
    ("user.uid = -1", lambda e: g(e, "user.uid") == 4294967295),
    ("user.uid = 4294967295", lambda e: g(e, "user.uid") == 4294967295),
    ("user.uid > 100", lambda e: present(e, "user.uid") and u32(g(e, "user.uid")) > 100),
    ("user.loginuid < 0", lambda e: present(e, "user.loginuid") and g(e, "user.loginuid") < 0),
    ("evt.rawres < 0", lambda e: present(e, "evt.rawres") and g(e, "evt.rawres") < 0),
    ("evt.rawres >= 3 and evt.rawres <= 17", lambda e: present(e, "evt.rawres") and 3 <= g(e, "evt.rawres") <= 17),
    ("fd.num < 0", lambda e: present(e, "fd.num") and g(e, "fd.num") < 0),
    ("fd.num in (0, 1, 2)", lambda e: g(e, "fd.num") in (0, 1, 2)),
    ("evt.cpu != 0", lambda e: present(e, "evt.cpu") and g(e, "evt.cpu") != 0),
    ("evt.num > 100 and evt.num <= 200", lambda e: 100 < g(e, "evt.num") <= 200),
    ("evt.failed = true", lambda e: g(e, "evt.failed") is True),
    ("evt.is_io_read = false", lambda e: g(e, "evt.is_io_read") is False),
    ("evt.is_open_read in (true)", lambda e: g(e, "evt.is_open_read") is True),
    ("thread.ismain != true", lambda e: g(e, "thread.ismain") is False),
    ("evt.res = ENOENT", lambda e: g(e, "evt.res") == "ENOENT"),
    ("evt.arg.res = ENOENT", lambda e: g(e, "evt.arg.res") == "ENOENT"),
    ("evt.arg.fd startswith '<f>'", lambda e: present(e, "evt.arg.fd") and g(e, "evt.arg.fd").startswith("<f>")),
    ("evt.arg.flags contains O_CLOEXEC", lambda e: present(e, "evt.arg.flags") and "O_CLOEXEC" in g(e, "evt.arg.flags")),
    ("evt.arg[0] = epoll_pwait", lambda e: g(e, "evt.arg[0]") == "epoll_pwait"),
    ("evt.buffer contains GET", lambda e: present(e, "evt.buffer") and "GET" in g(e, "evt.buffer")),
    ("evt.buffer bcontains 474554", lambda e: present(e, "evt.buffer") and "GET" in g(e, "evt.buffer")),
    ("evt.buffer bstartswith 48545450", lambda e: present(e, "evt.buffer") and g(e, "evt.buffer").startswith("HTTP")),
    ("evt.buffer startswith HTTP", lambda e: present(e, "evt.buffer") and g(e, "evt.buffer").startswith("HTTP")),
    ("evt.buffer = bar", lambda e: g(e, "evt.buffer") == "bar"),
    ("fd.sip = 192.168.0.2", lambda e: g(e, "fd.sip") == "192.168.0.2"),
    ("fd.cip = 2600:1f18:262c:6542:9aa6:df7a:9a47:d29e", lambda e: g(e, "fd.cip") == "2600:1f18:262c:6542:9aa6:df7a:9a47:d29e"),
    ("fd.sip != 192.168.0.2", lambda e: present(e, "fd.sip") and g(e, "fd.sip") != "192.168.0.2"),
    ("fd.rip in (192.168.0.3, ::1)", lambda e: g(e, "fd.rip") in ("192.168.0.3", "::1")),
    ("fd.ip = 192.168.0.3", lambda e: "192.168.0.3" in endpoints(e, "fd.cip", "fd.sip")),
    ("fd.ip != 192.168.0.3",
     lambda e: bool(endpoints(e, "fd.cip", "fd.sip")) and "192.168.0.3" not in endpoints(e, "fd.cip", "fd.sip")),
    ("fd.net = 192.168.0.0/24", lambda e: any(ip(a) in NET_24 for a in endpoints(e, "fd.cip", "fd.sip"))),
    ("fd.net != 192.168.0.0/24",
     lambda e: bool(endpoints(e, "fd.cip", "fd.sip")) and not any(ip(a) in NET_24 for a in endpoints(e, "fd.cip", "fd.sip"))),
    ("fd.snet = 192.168.0.0/24", lambda e: present(e, "fd.sip") and ip(g(e, "fd.sip")) in NET_24),
    ("fd.cnet = 2600:1f18::/32", lambda e: present(e, "fd.cip") and ip(g(e, "fd.cip")) in NET_V6),
    ("fd.rnet in (192.168.0.0/30, 145.216.0.0/16)",
     lambda e: present(e, "fd.rip") and any(ip(g(e, "fd.rip")) in ipaddress.ip_network(n)
                                            for n in ("192.168.0.0/30", "145.216.0.0/16"))),
    ("fd.sport = 80", lambda e: g(e, "fd.sport") == 80),
    ("fd.sport = http", lambda e: g(e, "fd.sport") == 80),
    ("fd.port = 80", lambda e: 80 in endpoints(e, "fd.cport", "fd.sport")),
    ("fd.port > 50000", lambda e: any(p > 50000 for p in endpoints(e, "fd.cport", "fd.sport"))),
    ("fd.port != 80",
     lambda e: bool(endpoints(e, "fd.cport", "fd.sport")) and 80 not in endpoints(e, "fd.cport", "fd.sport")),
    ("fd.proto = http", lambda e: 80 in endpoints(e, "fd.cport", "fd.sport")),
    ("fd.lport in (80, 53)", lambda e: g(e, "fd.lport") in (80, 53)),
    ("fd.sproto = 514", lambda e: g(e, "fd.sproto") == "514"),
    ("fd.cproto = 55441", lambda e: g(e, "fd.cport") == 55441),
    ("fd.l4proto = udp", lambda e: g(e, "fd.l4proto") == "udp"),
    ("fd.typechar in (4, 6)", lambda e: g(e, "fd.typechar") in ("4", "6")),
    ("fd.dev = 21986", lambda e: g(e, "fd.dev") == "55E2"),
    ("proc.aname = tini", lambda e: "tini" in ancestors(e, "proc.aname")),
    ("proc.aname != tini", lambda e: any(a != "tini" for a in ancestors(e, "proc.aname"))),
    ("proc.aname[2] = sshd", lambda e: g(e, "proc.aname[2]") == "sshd"),
    ("proc.aname in (bash, emacs)", lambda e: any(a in ("bash", "emacs") for a in ancestors(e, "proc.aname"))),
    ("proc.apid = 1", lambda e: 1 in ancestors(e, "proc.apid")),
    ("proc.apid[1] > 10000", lambda e: present(e, "proc.apid[1]") and g(e, "proc.apid[1]") > 10000),
    ("proc.name startswith anyof (cu, hap)",
     lambda e: present(e, "proc.name") and g(e, "proc.name").startswith(("cu", "hap"))),
    ("proc.name endswith oneof (url, l)",
     lambda e: present(e, "proc.name") and [g(e, "proc.name").endswith(s) for s in ("url", "l")].count(True) == 1),
    ("proc.name != allof (curl, python)", lambda e: present(e, "proc.name") and g(e, "proc.name") not in ("curl", "python")),
    ("proc.name contains allof (y, on)", lambda e: present(e, "proc.name") and "y" in g(e, "proc.name") and "on" in g(e, "proc.name")),
    ("proc.name == anyof (cat, tini)", lambda e: g(e, "proc.name") in ("cat", "tini")),
    ("fd.sip == oneof (192.168.0.2, 192.168.0.3)", lambda e: g(e, "fd.sip") in ("192.168.0.2", "192.168.0.3")),
    ("toupper(proc.name) = CURL", lambda e: present(e, "proc.name") and g(e, "proc.name").upper() == "CURL"),
    ("len(fd.name) > 30", lambda e: present(e, "fd.name") and len(g(e, "fd.name").encode()) > 30),
    ("basename(fd.name) = hosts", lambda e: present(e, "fd.name") and g(e, "fd.name").rsplit("/", 1)[-1] == "hosts"),
    ("concat(proc.name, ':', fd.typechar) = 'curl:4'", lambda e: g(e, "proc.name") == "curl" and g(e, "fd.typechar") == "4"),
    ("proc.name = val(proc.pname)", lambda e: present(e, "proc.name") and g(e, "proc.name") == g(e, "proc.pname")),
    ("fd.lip = val(fd.sip)", lambda e: present(e, "fd.lip") and present(e, "fd.sip") and ip(g(e, "fd.lip")) == ip(g(e, "fd.sip"))),
    ("thread.cgroup.cpu startswith /docker", lambda e: present(e, "thread.cgroup.cpu") and g(e, "thread.cgroup.cpu").startswith("/docker")),
    ("container.id != host", lambda e: present(e, "container.id") and g(e, "container.id") != "host"),
    ("proc.env contains 'TERM=xterm'", lambda e: present(e, "proc.env") and "TERM=xterm" in g(e, "proc.env")),
    ("evt.count = 1", lambda e: g(e, "evt.count") == 1),
    ("evt.rawtime > 1500000000000000000", lambda e: g(e, "evt.rawtime") > 1500000000000000000),
    ("evt.source = syscall", lambda e: True),
    ("(evt.type = sendmsg or evt.type = sendto) and fd.typechar in (4, 6) and not fd.sport = 80",
     lambda e: g(e, "evt.type") in ("sendmsg", "sendto") and g(e, "fd.typechar") in ("4", "6")
     and g(e, "fd.sport") != 80),
    ("proc.name = curl and (fd.name contains resolv or fd.name pmatch (/lib)) and evt.is_io_read = true",
     lambda e: g(e, "proc.name") == "curl" and present(e, "fd.name")
     and ("resolv" in g(e, "fd.name") or pmatch(g(e, "fd.name"), ("/lib",))) and g(e, "evt.is_io_read") is True),
]


@pytest.mark.parametrize(("condition", "expected"), CASES, ids=[c for c, _ in CASES])
def test_condition_on_exported_events(condition: str, expected: Callable[[Event], bool]) -> None:
    events = _events()
    if not events:
        pytest.skip("exported events not found")
    expr = parse(condition)
    matches = compile_expr(expr, text=condition).matches
    want = [bool(expected(e)) for e in events]
    got = [matches(e) for e in events]
    assert sum(got) == sum(want)
    assert got == want
    # The interpreter is slow: check it on every event that matters and a spread of the others.
    sample = [i for i, w in enumerate(want) if w][:300] + list(range(0, len(events), 37))
    assert [interpret(expr, events[i]) for i in sample] == [want[i] for i in sample]


def test_expectations_are_not_vacuous() -> None:
    events = _events()
    if not events:
        pytest.skip("exported events not found")
    counts = {condition: sum(1 for e in events if expected(e)) for condition, expected in CASES}
    # Every condition except the tautology must both match and miss something, or it proves little.
    empty = [c for c, n in counts.items() if n == 0]
    full = [c for c, n in counts.items() if n == len(events) and c not in ("evt.source = syscall", "evt.count = 1")]
    assert not empty and not full, (empty, full)
    assert len(events) == 11408
