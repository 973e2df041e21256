"""Six Falco conditions, each also written for the peers (rule-engine, CEL) and as plain Python.

The four spellings of a condition mean the same thing on the events of this suite, including
Falco's treatment of an absent field: a comparison on it is false, so ``not x in (...)`` holds.
rule-engine reads the absent field as ``null``; CEL raises on a missing key, which the CEL texts
avoid with ``"key" in e`` guards.  ``tests/test_bench_peers.py`` checks the four agree.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

Event = Mapping[str, object]

SHELLS = ("ash", "bash", "csh", "ksh", "sh", "tcsh", "zsh", "dash")
ENTRYPOINT_PARENTS = (
    "runc:[0:PARENT]", "runc:[1:CHILD]", "runc", "docker-runc", "exe", "docker-runc-cur",
    "containerd-shim", "systemd", "crio", "conmon",
)
SENSITIVE_FILES = ("/etc/shadow", "/etc/sudoers", "/etc/pam.conf", "/etc/security/pwquality.conf")
SENSITIVE_DIRS = ("/etc/sudoers.d", "/etc/pam.d")
TRUSTED_READERS = ("sshd", "sudo", "su", "login", "passwd", "chpasswd", "cron", "systemd", "unix_chkpwd")
PACKAGE_MANAGERS = ("apt", "apt-get", "dpkg", "yum", "dnf", "rpm", "apk", "pip", "pip3", "npm", "gem")
ETC_WRITERS = ("dpkg", "rpm", "yum", "apt-get", "passwd", "useradd", "usermod", "chpasswd", "systemd")
STRATUM = ("stratum+tcp", "stratum2+tcp", "stratum+ssl", "stratum2+ssl")
EXECS = ("execve", "execveat")
OPENS = ("open", "openat", "openat2")


@dataclass(frozen=True, slots=True)
class PeerCondition:
    name: str
    falco: str
    rule_engine: str
    cel: str
    python: Callable[[Event], bool]


def _falco_list(items: tuple[str, ...]) -> str:
    return "(" + ", ".join(f'"{item}"' if not item or " " in item else item for item in items) + ")"


def _json_list(items: tuple[str, ...]) -> str:
    return "[" + ", ".join(f'"{item}"' for item in items) + "]"


# ---- plain Python: the reference the others are checked against ------------------------------------


def _shell_in_container(e: Event) -> bool:
    tty = e.get("proc.tty")
    pname = e.get("proc.pname")
    return (
        e.get("evt.type") in EXECS
        and e.get("container.id") not in (None, "host")
        and e.get("proc.name") in SHELLS
        and tty is not None and tty != 0
        and (pname is None or pname in ENTRYPOINT_PARENTS)
    )


def _open_file(e: Event, flag: str) -> bool:
    num = e.get("fd.num")
    return (
        e.get("evt.type") in OPENS
        and e.get(flag) is True
        and e.get("fd.typechar") == "f"
        and isinstance(num, int) and num >= 0
    )


def _read_sensitive_file(e: Event) -> bool:
    return (
        _open_file(e, "evt.is_open_read")
        and (e.get("fd.name") in SENSITIVE_FILES or e.get("fd.directory") in SENSITIVE_DIRS)
        and e.get("proc.name") not in TRUSTED_READERS
    )


def _mount_in_privileged_container(e: Event) -> bool:
    return (
        e.get("evt.type") in EXECS
        and e.get("container.id") not in (None, "host")
        and e.get("container.privileged") is True
        and e.get("proc.name") == "mount"
        and e.get("proc.args") not in ("", "-V", "-l", "-h")
    )


def _miner_cmdline(e: Event) -> bool:
    cmdline = e.get("proc.cmdline")
    return e.get("evt.type") in EXECS and isinstance(cmdline, str) and any(s in cmdline for s in STRATUM)


def _write_below_etc(e: Event) -> bool:
    name = e.get("fd.name")
    return (
        _open_file(e, "evt.is_open_write")
        and isinstance(name, str) and name.startswith("/etc/")
        and e.get("proc.name") not in ETC_WRITERS
    )


def _package_manager_in_container(e: Event) -> bool:
    user = e.get("user.name")
    return (
        e.get("evt.type") in EXECS
        and e.get("container.id") not in (None, "host")
        and e.get("proc.name") in PACKAGE_MANAGERS
        and user is not None and user != "_apt"
    )


# ---- the table --------------------------------------------------------------------------------------

_EXEC_RE = f"evt_type in {_json_list(EXECS)}"
_OPEN_RE = f"evt_type in {_json_list(OPENS)}"
_EXEC_CEL = f'e["evt.type"] in {_json_list(EXECS)}'
_OPEN_CEL = f'e["evt.type"] in {_json_list(OPENS)}'
_CONTAINER_RE = 'container_id != null and container_id != "host"'
_CONTAINER_CEL = '"container.id" in e && e["container.id"] != "host"'


def _cel_open(flag: str) -> str:
    return (
        f'{_OPEN_CEL} && "{flag}" in e && e["{flag}"] == true'
        ' && "fd.typechar" in e && e["fd.typechar"] == "f" && "fd.num" in e && e["fd.num"] >= 0'
    )


def _re_open(flag: str) -> str:
    return f'{_OPEN_RE} and {flag} == true and fd_typechar == "f" and fd_num != null and fd_num >= 0'


CONDITIONS: tuple[PeerCondition, ...] = (
    PeerCondition(
        "shell_in_container",
        f"evt.type in (execve, execveat) and container.id != host and proc.name in {_falco_list(SHELLS)}"
        f" and proc.tty != 0 and (not proc.pname exists or proc.pname in {_falco_list(ENTRYPOINT_PARENTS)})",
        f"{_EXEC_RE} and {_CONTAINER_RE} and proc_name in {_json_list(SHELLS)}"
        f" and proc_tty != null and proc_tty != 0 and (proc_pname == null or proc_pname in {_json_list(ENTRYPOINT_PARENTS)})",
        f'{_EXEC_CEL} && {_CONTAINER_CEL} && "proc.name" in e && e["proc.name"] in {_json_list(SHELLS)}'
        f' && "proc.tty" in e && e["proc.tty"] != 0'
        f' && (!("proc.pname" in e) || e["proc.pname"] in {_json_list(ENTRYPOINT_PARENTS)})',
        _shell_in_container,
    ),
    PeerCondition(
        "read_sensitive_file",
        f"evt.type in (open, openat, openat2) and evt.is_open_read=true and fd.typechar='f' and fd.num>=0"
        f" and (fd.name in {_falco_list(SENSITIVE_FILES)} or fd.directory in {_falco_list(SENSITIVE_DIRS)})"
        f" and not proc.name in {_falco_list(TRUSTED_READERS)}",
        f"{_re_open('evt_is_open_read')} and (fd_name in {_json_list(SENSITIVE_FILES)}"
        f" or fd_directory in {_json_list(SENSITIVE_DIRS)}) and not proc_name in {_json_list(TRUSTED_READERS)}",
        f'{_cel_open("evt.is_open_read")}'
        f' && (("fd.name" in e && e["fd.name"] in {_json_list(SENSITIVE_FILES)})'
        f' || ("fd.directory" in e && e["fd.directory"] in {_json_list(SENSITIVE_DIRS)}))'
        f' && !("proc.name" in e && e["proc.name"] in {_json_list(TRUSTED_READERS)})',
        _read_sensitive_file,
    ),
    PeerCondition(
        "mount_in_privileged_container",
        "evt.type in (execve, execveat) and container.id != host and container.privileged=true"
        ' and proc.name=mount and not proc.args in ("", "-V", "-l", "-h")',
        f'{_EXEC_RE} and {_CONTAINER_RE} and container_privileged == true and proc_name == "mount"'
        ' and not proc_args in ["", "-V", "-l", "-h"]',
        f'{_EXEC_CEL} && {_CONTAINER_CEL} && "container.privileged" in e && e["container.privileged"] == true'
        ' && "proc.name" in e && e["proc.name"] == "mount"'
        ' && !("proc.args" in e && e["proc.args"] in ["", "-V", "-l", "-h"])',
        _mount_in_privileged_container,
    ),
    PeerCondition(
        "miner_cmdline",
        "evt.type in (execve, execveat) and ("
        + " or ".join(f'proc.cmdline contains "{s}"' for s in STRATUM) + ")",
        f"{_EXEC_RE} and proc_cmdline != null and ("
        + " or ".join(f'"{s}" in proc_cmdline' for s in STRATUM) + ")",
        f'{_EXEC_CEL} && "proc.cmdline" in e && ('
        + " || ".join(f'e["proc.cmdline"].contains("{s}")' for s in STRATUM) + ")",
        _miner_cmdline,
    ),
    PeerCondition(
        "write_below_etc",
        "evt.type in (open, openat, openat2) and evt.is_open_write=true and fd.typechar='f' and fd.num>=0"
        f" and fd.name startswith /etc/ and not proc.name in {_falco_list(ETC_WRITERS)}",
        f'{_re_open("evt_is_open_write")} and fd_name != null and fd_name.starts_with("/etc/")'
        f" and not proc_name in {_json_list(ETC_WRITERS)}",
        f'{_cel_open("evt.is_open_write")} && "fd.name" in e && e["fd.name"].startsWith("/etc/")'
        f' && !("proc.name" in e && e["proc.name"] in {_json_list(ETC_WRITERS)})',
        _write_below_etc,
    ),
    PeerCondition(
        "package_manager_in_container",
        f"evt.type in (execve, execveat) and container.id != host and proc.name in {_falco_list(PACKAGE_MANAGERS)}"
        ' and user.name != "_apt"',
        f'{_EXEC_RE} and {_CONTAINER_RE} and proc_name in {_json_list(PACKAGE_MANAGERS)}'
        ' and user_name != null and user_name != "_apt"',
        f'{_EXEC_CEL} && {_CONTAINER_CEL} && "proc.name" in e && e["proc.name"] in {_json_list(PACKAGE_MANAGERS)}'
        ' && "user.name" in e && e["user.name"] != "_apt"',
        _package_manager_in_container,
    ),
)

# Which generator scenario each condition exists to catch (tests check the pairing).
SCENARIO_OF = {
    "shell_in_container": "terminal_shell",
    "read_sensitive_file": "read_shadow",
    "mount_in_privileged_container": "mount_in_privileged",
    "miner_cmdline": "miner",
    "write_below_etc": "write_etc",
    "package_manager_in_container": "package_manager",
}


# Every field the six conditions read.  rule-engine symbols are identifiers, so ``proc.name`` is
# written ``proc_name`` there and this table maps the symbol back to the field.
FIELDS = (
    "evt.type", "container.id", "container.privileged", "proc.name", "proc.tty", "proc.pname", "proc.args",
    "proc.cmdline", "evt.is_open_read", "evt.is_open_write", "fd.typechar", "fd.num", "fd.name",
    "fd.directory", "user.name",
)
RULE_ENGINE_SYMBOLS = {field.replace(".", "_"): field for field in FIELDS}


def falco_rules_yaml() -> str:
    """The six conditions as a Falco rules file, so detector runs exactly what the peers run."""
    blocks = []
    for cond in CONDITIONS:
        blocks.append(
            f"- rule: bench {cond.name}\n"
            f"  desc: benchmark condition {cond.name}\n"
            f"  condition: >\n    {cond.falco}\n"
            f"  output: bench {cond.name} (proc=%proc.name cmd=%proc.cmdline file=%fd.name container=%container.id)\n"
            f"  priority: WARNING\n"
            f"  source: syscall\n"
        )
    return "\n".join(blocks)
