"""End to end: `detector replay --json` on the real exported captures, alerts checked field by field.

Every alert is compared with the event it came from (found by `evt.num` in the
capture): the rule, priority, source, sorted tags, hostname, the RFC 3339 time
of the event, the text `output`, and each `output_fields` value with its JSON
type.
"""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from detector.cli.main import cli
from tests.shared import shared_path

RULES = """
- rule: Cat opens a file
  desc: cat opened something
  condition: evt.type in (open, openat) and evt.dir = < and proc.name = cat
  output: cat opened %fd.name (fd=%fd.num res=%evt.res uid=%user.uid cmd=%proc.cmdline)
  priority: WARNING
  tags: [zeta, alpha, file]
- rule: Outbound connect
  desc: a connect that succeeded
  condition: evt.type = connect and evt.dir = < and fd.sip exists
  output: connect to %fd.sip:%fd.sport from %proc.name (l4=%fd.l4proto ok=%evt.failed)
  priority: NOTICE
  tags: [network]
"""

CAPTURES = ["cat_write", "connect_localhost", "curl_google", "single_ipv6_conn"]


def _events(name: str) -> dict[int, dict[str, Any]]:
    path = shared_path("data", "events", f"{name}.jsonl.gz")
    with gzip.open(path) as fh:
        return {e["evt.num"]: e for e in map(json.loads, fh)}


def _rfc3339(ns: int) -> str:
    seconds, nanos = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


@pytest.mark.parametrize("capture", CAPTURES)
def test_json_alerts_match_their_events(capture: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FALCO_HOSTNAME", "node-7")
    events = _events(capture)
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    source = shared_path("data", "events", f"{capture}.jsonl.gz")
    result = CliRunner().invoke(
        cli, ["replay", "-r", str(rules), "--json", "--no-progress", "--no-summary",
              "-o", "rule_matching=all", "-o", "json_include_output_property=true", str(source)],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.stderr
    alerts = [json.loads(line) for line in result.stdout.splitlines()]
    expected_rules = {
        "Cat opens a file": [e for e in events.values() if e["evt.type"] in ("open", "openat")
                             and e["evt.dir"] == "<" and e["proc.name"] == "cat"],
        "Outbound connect": [e for e in events.values() if e["evt.type"] == "connect"
                             and e["evt.dir"] == "<" and e.get("fd.sip") is not None],
    }
    assert sorted(a["rule"] for a in alerts) == sorted(
        rule for rule, matched in expected_rules.items() for _ in matched
    )
    assert alerts, "the capture should raise at least one alert"
    for alert in alerts:
        assert list(alert) == sorted(alert), "keys in Falco's (alphabetical) order"
        event = next(e for e in expected_rules[alert["rule"]] if _rfc3339(e["evt.time"]) == alert["time"])
        assert alert["hostname"] == "node-7"
        assert alert["source"] == "syscall"
        fields = alert["output_fields"]
        assert fields["evt.time"] == event["evt.time"]
        if alert["rule"] == "Cat opens a file":
            assert alert["priority"] == "Warning"
            assert alert["tags"] == ["alpha", "file", "zeta"]
            for key in ("fd.name", "fd.num", "evt.res", "user.uid", "proc.cmdline"):
                assert fields[key] == event[key], key
                assert type(fields[key]) is type(event[key]), key
            message = (f"cat opened {event['fd.name']} (fd={event['fd.num']} res={event['evt.res']} "
                       f"uid={event['user.uid']} cmd={event['proc.cmdline']})")
        else:
            assert alert["priority"] == "Notice"
            assert alert["tags"] == ["network"]
            for key in ("fd.sip", "fd.sport", "proc.name", "fd.l4proto", "evt.failed"):
                assert fields[key] == event[key], key
            message = (f"connect to {event['fd.sip']}:{event['fd.sport']} from {event['proc.name']} "
                       f"(l4={event['fd.l4proto']} ok={str(event['evt.failed']).lower()})")
        # Falco's text time is local time
        clock = datetime.fromtimestamp(event["evt.time"] // 1_000_000_000).strftime("%H:%M:%S")
        nanos = event["evt.time"] % 1_000_000_000
        assert alert["output"] == f"{clock}.{nanos:09d}: {alert['priority']} {message}"
