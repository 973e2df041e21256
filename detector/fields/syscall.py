"""The ``syscall`` source: libsinsp's filterchecks over flat exported events.

Events are flat maps keyed by the field as written (``proc.name``,
``proc.aname[2]``, ``evt.arg.fd``).  Most fields are read under their key;
the ones below are derived as libsinsp computes them:

- ``fd.ip``/``fd.net``/``fd.port``/``fd.proto`` look at both endpoints (``fd.cip``/``fd.sip``,
  ``fd.cport``/``fd.sport``): any endpoint for ``=``-like operators, both for ``!=``;
- ``fd.cnet``/``fd.snet``/``fd.lnet``/``fd.rnet`` are the endpoint addresses compared as networks;
- ``fd.cproto``/``fd.lproto``/``fd.rproto`` (and ``fd.sproto`` when not exported) are the port
  rendered as text, as libsinsp does without port-name resolution;
- unindexed ``proc.aname``/``proc.apid``/... mean "any ancestor", over ``proc.aname[1]``,
  ``proc.aname[2]``... as far as the event carries them;
- ``evt.time``-style fields render exported nanosecond integers as libsinsp's strings;
- ``evt.source`` is ``syscall`` when the event does not say.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import Any

from detector.fields import evttime
from detector.fields.events import PARAM_TYPES
from detector.fields.registry import (
    ArgKind,
    ArgRule,
    Binder,
    BoundField,
    FieldArgumentError,
    FieldInfo,
    FieldSource,
    Loader,
    plain_loader,
)
from detector.fields.types import FieldType, scalar_coercer

T = FieldType

# Flags, as short strings: "L" list, "A" arg allowed, "R" arg required, "i"/"k"/"n" arg kind
# (index, key, dotted name), "F" filter only, "N" no rhs, "X" no transformer, "D" deprecated.
_TABLE: tuple[tuple[str, FieldType, str, str], ...] = (
    # generic event fields
    ("evt.num", T.UINT64, "", "event number"),
    ("evt.time", T.CHARBUF, "", "event timestamp as a time string with nanoseconds"),
    ("evt.time.s", T.CHARBUF, "", "event timestamp as a time string with no nanoseconds"),
    ("evt.time.iso8601", T.CHARBUF, "", "event timestamp in ISO 8601 format"),
    ("evt.datetime", T.CHARBUF, "", "event timestamp as a time string with the date"),
    ("evt.datetime.s", T.CHARBUF, "", "event timestamp as a datetime string with no nanoseconds"),
    ("evt.rawtime", T.ABSTIME, "", "absolute event timestamp in nanoseconds from epoch"),
    ("evt.rawtime.s", T.ABSTIME, "", "integer part of the event timestamp"),
    ("evt.rawtime.ns", T.ABSTIME, "", "fractional part of the absolute event timestamp"),
    ("evt.reltime", T.RELTIME, "", "nanoseconds from the beginning of the capture"),
    ("evt.reltime.s", T.RELTIME, "", "seconds from the beginning of the capture"),
    ("evt.reltime.ns", T.RELTIME, "", "fractional part of the relative time"),
    ("evt.pluginname", T.CHARBUF, "", "name of the plugin that generated the event"),
    ("evt.plugininfo", T.CHARBUF, "", "summary of the event as formatted by the plugin"),
    ("evt.source", T.CHARBUF, "", "name of the source that produced the event"),
    ("evt.is_async", T.BOOL, "", "true for asynchronous events"),
    ("evt.asynctype", T.CHARBUF, "", "type of the asynchronous event"),
    ("evt.hostname", T.CHARBUF, "", "hostname of the underlying host"),
    # syscall event fields
    ("evt.latency", T.RELTIME, "D", "delta between exit and enter event"),
    ("evt.latency.s", T.RELTIME, "D", "integer part of the event latency"),
    ("evt.latency.ns", T.RELTIME, "D", "fractional part of the event latency"),
    ("evt.latency.quantized", T.UINT64, "D", "10-base log of the event latency"),
    ("evt.latency.human", T.CHARBUF, "D", "event latency as a human readable string"),
    ("evt.deltatime", T.RELTIME, "", "delta from the previous event"),
    ("evt.deltatime.s", T.RELTIME, "", "integer part of the delta from the previous event"),
    ("evt.deltatime.ns", T.RELTIME, "", "fractional part of the delta from the previous event"),
    ("evt.outputtime", T.CHARBUF, "", "output time"),
    ("evt.dir", T.CHARBUF, "D", "event direction: '>' enter, '<' exit"),
    ("evt.type", T.CHARBUF, "", "name of the event (e.g. 'open')"),
    ("evt.type.is", T.UINT32, "Rn", "1 for events of the given type"),
    ("syscall.type", T.CHARBUF, "", "name of the system call, for syscall events"),
    ("evt.category", T.CHARBUF, "", "event category"),
    ("evt.cpu", T.INT16, "", "number of the CPU where the event happened"),
    ("evt.args", T.CHARBUF, "", "all the event arguments as one string"),
    ("evt.arg", T.CHARBUF, "Rn", "one event argument by name or number, rendered as text"),
    ("evt.rawarg", T.DYN, "RnNX", "one event argument by name, typed"),
    ("evt.info", T.CHARBUF, "", "same as evt.args"),
    ("evt.buffer", T.BYTEBUF, "", "the I/O data buffer"),
    ("evt.buflen", T.UINT64, "", "length of the I/O data buffer"),
    ("evt.res", T.CHARBUF, "", "return value as a string (error code or SUCCESS)"),
    ("evt.rawres", T.INT64, "", "return value as a number"),
    ("evt.failed", T.BOOL, "", "true for events that returned an error"),
    ("evt.is_io", T.BOOL, "", "true for I/O events"),
    ("evt.is_io_read", T.BOOL, "", "true for read events"),
    ("evt.is_io_write", T.BOOL, "", "true for write events"),
    ("evt.io_dir", T.CHARBUF, "", "I/O direction"),
    ("evt.is_wait", T.BOOL, "", "true for events that make the thread wait"),
    ("evt.wait_latency", T.RELTIME, "D", "time spent waiting"),
    ("evt.is_syslog", T.BOOL, "", "true for writes to /dev/log"),
    ("evt.count", T.UINT32, "", "always 1"),
    ("evt.count.error", T.UINT32, "", "1 for events that returned an error"),
    ("evt.count.error.file", T.UINT32, "", "1 for file events that returned an error"),
    ("evt.count.error.net", T.UINT32, "", "1 for network events that returned an error"),
    ("evt.count.error.memory", T.UINT32, "", "1 for memory events that returned an error"),
    ("evt.count.error.other", T.UINT32, "", "1 for other events that returned an error"),
    ("evt.count.exit", T.UINT32, "", "1 for exit events"),
    ("evt.count.procinfo", T.UINT32, "", "1 for procinfo events of main threads"),
    ("evt.count.threadinfo", T.UINT32, "", "1 for procinfo events"),
    ("evt.around", T.UINT64, "RiFNX", "events around a timestamp"),
    ("evt.abspath", T.CHARBUF, "", "absolute path computed from dirfd and name"),
    ("evt.abspath.src", T.CHARBUF, "", "absolute source path"),
    ("evt.abspath.dst", T.CHARBUF, "", "absolute destination path"),
    ("evt.buflen.in", T.UINT64, "", "buffer length of input I/O events"),
    ("evt.buflen.out", T.UINT64, "", "buffer length of output I/O events"),
    ("evt.buflen.file", T.UINT64, "", "buffer length of file I/O events"),
    ("evt.buflen.file.in", T.UINT64, "", "buffer length of input file I/O events"),
    ("evt.buflen.file.out", T.UINT64, "", "buffer length of output file I/O events"),
    ("evt.buflen.net", T.UINT64, "", "buffer length of network I/O events"),
    ("evt.buflen.net.in", T.UINT64, "", "buffer length of input network I/O events"),
    ("evt.buflen.net.out", T.UINT64, "", "buffer length of output network I/O events"),
    ("evt.is_open_read", T.BOOL, "", "true for opens for reading"),
    ("evt.is_open_write", T.BOOL, "", "true for opens for writing"),
    ("evt.is_open_exec", T.BOOL, "", "true for files created with execute permissions"),
    ("evt.is_open_create", T.BOOL, "", "true for opens that create a file"),
    ("evt.infra.docker.name", T.CHARBUF, "", "docker infrastructure event name"),
    ("evt.infra.docker.container.id", T.CHARBUF, "", "docker infrastructure container id"),
    ("evt.infra.docker.container.name", T.CHARBUF, "", "docker infrastructure container name"),
    ("evt.infra.docker.container.image", T.CHARBUF, "", "docker infrastructure container image"),
    # process and thread
    ("proc.exe", T.CHARBUF, "", "first command line argument (argv[0])"),
    ("proc.pexe", T.CHARBUF, "", "proc.exe of the parent"),
    ("proc.aexe", T.CHARBUF, "AiNX", "proc.exe of an ancestor, or of any ancestor"),
    ("proc.exepath", T.CHARBUF, "", "full executable path"),
    ("proc.pexepath", T.CHARBUF, "", "proc.exepath of the parent"),
    ("proc.aexepath", T.CHARBUF, "AiNX", "proc.exepath of an ancestor, or of any ancestor"),
    ("proc.name", T.CHARBUF, "", "process name (comm)"),
    ("proc.pname", T.CHARBUF, "", "name of the parent"),
    ("proc.aname", T.CHARBUF, "AiNX", "name of an ancestor, or of any ancestor"),
    ("proc.args", T.CHARBUF, "Ai", "command line arguments"),
    ("proc.cmdline", T.CHARBUF, "", "proc.name + proc.args"),
    ("proc.pcmdline", T.CHARBUF, "", "command line of the parent"),
    ("proc.acmdline", T.CHARBUF, "AiNX", "command line of an ancestor, or of any ancestor"),
    ("proc.cmdnargs", T.UINT64, "", "number of command line arguments"),
    ("proc.cmdlenargs", T.UINT64, "", "total length of the command line arguments"),
    ("proc.exeline", T.CHARBUF, "", "proc.exe + proc.args"),
    ("proc.env", T.CHARBUF, "Ak", "environment, or one variable of it"),
    ("proc.aenv", T.CHARBUF, "AkNX", "environment of an ancestor"),
    ("proc.cwd", T.CHARBUF, "", "current working directory"),
    ("proc.loginshellid", T.INT64, "", "pid of the oldest shell among the ancestors"),
    ("proc.tty", T.UINT32, "", "controlling terminal"),
    ("proc.pid", T.INT64, "", "process id"),
    ("proc.ppid", T.INT64, "", "parent process id"),
    ("proc.apid", T.INT64, "AiNX", "pid of an ancestor, or of any ancestor"),
    ("proc.vpid", T.INT64, "", "process id in its pid namespace"),
    ("proc.pvpid", T.INT64, "", "parent process id in its pid namespace"),
    ("proc.sid", T.INT64, "", "session id"),
    ("proc.sname", T.CHARBUF, "", "name of the session leader"),
    ("proc.sid.exe", T.CHARBUF, "", "argv[0] of the session leader"),
    ("proc.sid.exepath", T.CHARBUF, "", "executable path of the session leader"),
    ("proc.vpgid", T.INT64, "", "process group id in its pid namespace"),
    ("proc.vpgid.name", T.CHARBUF, "", "name of the process group leader"),
    ("proc.vpgid.exe", T.CHARBUF, "", "argv[0] of the process group leader"),
    ("proc.vpgid.exepath", T.CHARBUF, "", "executable path of the process group leader"),
    ("proc.duration", T.RELTIME, "", "nanoseconds since the process started"),
    ("proc.ppid.duration", T.RELTIME, "", "nanoseconds since the parent started"),
    ("proc.pid.ts", T.RELTIME, "", "process start time in nanoseconds"),
    ("proc.ppid.ts", T.RELTIME, "", "parent start time in nanoseconds"),
    ("proc.is_exe_writable", T.BOOL, "", "true if the executable is writable by its user"),
    ("proc.is_exe_upper_layer", T.BOOL, "", "true if the executable is in an overlayfs upper layer"),
    ("proc.is_exe_from_memfd", T.BOOL, "", "true if the executable is a memfd"),
    ("proc.is_sid_leader", T.BOOL, "", "true for the session leader"),
    ("proc.is_vpgid_leader", T.BOOL, "", "true for the process group leader"),
    ("proc.exe_ino", T.INT64, "", "inode of the executable"),
    ("proc.exe_ino.ctime", T.ABSTIME, "", "ctime of the executable"),
    ("proc.exe_ino.mtime", T.ABSTIME, "", "mtime of the executable"),
    ("proc.exe_ino.ctime_duration_proc_start", T.ABSTIME, "", "from executable ctime to start"),
    ("proc.exe_ino.ctime_duration_pidns_start", T.ABSTIME, "", "from pidns start to ctime"),
    ("proc.pidns_init_start_ts", T.UINT64, "", "start of the pid namespace"),
    ("thread.cap_permitted", T.CHARBUF, "", "permitted capabilities"),
    ("thread.cap_inheritable", T.CHARBUF, "", "inheritable capabilities"),
    ("thread.cap_effective", T.CHARBUF, "", "effective capabilities"),
    ("proc.is_container_healthcheck", T.BOOL, "", "true for container health checks"),
    ("proc.is_container_liveness_probe", T.BOOL, "", "true for liveness probes"),
    ("proc.is_container_readiness_probe", T.BOOL, "", "true for readiness probes"),
    ("proc.fdopencount", T.UINT64, "", "number of open FDs"),
    ("proc.fdlimit", T.INT64, "", "maximum number of FDs"),
    ("proc.fdusage", T.DOUBLE, "", "ratio of open FDs to the limit"),
    ("proc.vmsize", T.UINT64, "", "virtual memory (kb)"),
    ("proc.vmrss", T.UINT64, "", "resident memory (kb)"),
    ("proc.vmswap", T.UINT64, "", "swapped memory (kb)"),
    ("thread.pfmajor", T.UINT64, "", "major page faults"),
    ("thread.pfminor", T.UINT64, "", "minor page faults"),
    ("thread.tid", T.INT64, "", "thread id"),
    ("thread.ismain", T.BOOL, "", "true for the main thread"),
    ("thread.vtid", T.INT64, "", "thread id in its pid namespace"),
    ("thread.nametid", T.CHARBUF, "", "process name + tid"),
    ("thread.exectime", T.RELTIME, "", "CPU time of the last scheduled thread"),
    ("thread.totexectime", T.RELTIME, "", "total CPU time of the thread"),
    ("thread.cgroups", T.CHARBUF, "", "all cgroups of the thread"),
    ("thread.cgroup", T.CHARBUF, "Rn", "cgroup of one subsystem"),
    ("proc.nthreads", T.UINT64, "", "number of alive threads"),
    ("proc.nchilds", T.UINT64, "", "number of alive non-leader threads"),
    ("thread.cpu", T.DOUBLE, "", "CPU used by the thread in the last second"),
    ("thread.cpu.user", T.DOUBLE, "", "user CPU used by the thread"),
    ("thread.cpu.system", T.DOUBLE, "", "system CPU used by the thread"),
    ("thread.vmsize", T.UINT64, "", "virtual memory of the main thread (kb)"),
    ("thread.vmrss", T.UINT64, "", "resident memory of the main thread (kb)"),
    ("thread.vmsize.b", T.UINT64, "", "virtual memory of the main thread (bytes)"),
    ("thread.vmrss.b", T.UINT64, "", "resident memory of the main thread (bytes)"),
    # users and groups
    ("user.uid", T.UINT32, "", "user id"),
    ("user.name", T.CHARBUF, "", "user name"),
    ("user.homedir", T.CHARBUF, "", "home directory"),
    ("user.shell", T.CHARBUF, "", "shell"),
    ("user.loginuid", T.INT64, "", "audit login uid"),
    ("user.loginname", T.CHARBUF, "", "audit login name"),
    ("group.gid", T.UINT32, "", "group id"),
    ("group.name", T.CHARBUF, "", "group name"),
    # file descriptors
    ("fd.num", T.INT64, "", "file descriptor number"),
    ("fd.type", T.CHARBUF, "", "type of FD"),
    ("fd.typechar", T.CHARBUF, "", "type of FD as a character"),
    ("fd.name", T.CHARBUF, "", "full name of the FD"),
    ("fd.directory", T.CHARBUF, "", "directory of a file FD"),
    ("fd.filename", T.CHARBUF, "", "file name of a file FD"),
    ("fd.ip", T.IPADDR, "FNX", "client or server address"),
    ("fd.cip", T.IPADDR, "", "client address"),
    ("fd.sip", T.IPADDR, "", "server address"),
    ("fd.lip", T.IPADDR, "", "local address"),
    ("fd.rip", T.IPADDR, "", "remote address"),
    ("fd.port", T.PORT, "FNX", "client or server port"),
    ("fd.cport", T.PORT, "", "client port"),
    ("fd.sport", T.PORT, "", "server port"),
    ("fd.lport", T.PORT, "", "local port"),
    ("fd.rport", T.PORT, "", "remote port"),
    ("fd.l4proto", T.CHARBUF, "", "IP protocol of a socket"),
    ("fd.sockfamily", T.CHARBUF, "", "socket family"),
    ("fd.is_server", T.BOOL, "", "true for the server endpoint"),
    ("fd.uid", T.CHARBUF, "", "unique FD identifier"),
    ("fd.containername", T.CHARBUF, "", "container id + FD name"),
    ("fd.containerdirectory", T.CHARBUF, "", "container id + directory"),
    ("fd.proto", T.PORT, "FNX", "client or server protocol (port)"),
    ("fd.cproto", T.CHARBUF, "", "client protocol"),
    ("fd.sproto", T.CHARBUF, "", "server protocol"),
    ("fd.lproto", T.CHARBUF, "", "local protocol"),
    ("fd.rproto", T.CHARBUF, "", "remote protocol"),
    ("fd.net", T.IPNET, "FNX", "client or server network"),
    ("fd.cnet", T.IPNET, "FNX", "client network"),
    ("fd.snet", T.IPNET, "FNX", "server network"),
    ("fd.lnet", T.IPNET, "FNX", "local network"),
    ("fd.rnet", T.IPNET, "FNX", "remote network"),
    ("fd.connected", T.BOOL, "", "true if the socket is connected"),
    ("fd.name_changed", T.BOOL, "", "true when the event changed the FD name"),
    ("fd.cip.name", T.CHARBUF, "NX", "domain name of the client address"),
    ("fd.sip.name", T.CHARBUF, "NX", "domain name of the server address"),
    ("fd.lip.name", T.CHARBUF, "NX", "domain name of the local address"),
    ("fd.rip.name", T.CHARBUF, "NX", "domain name of the remote address"),
    ("fd.dev", T.INT32, "", "device number"),
    ("fd.dev.major", T.INT32, "", "major device number"),
    ("fd.dev.minor", T.INT32, "", "minor device number"),
    ("fd.ino", T.INT64, "", "inode number"),
    ("fd.nameraw", T.CHARBUF, "", "raw FD name"),
    ("fd.types", T.CHARBUF, "LAi", "FD types in use, or of one FD"),
    ("fdlist.nums", T.CHARBUF, "", "FD numbers of poll events"),
    ("fdlist.names", T.CHARBUF, "", "FD names of poll events"),
    ("fdlist.cips", T.CHARBUF, "", "client addresses of poll events"),
    ("fdlist.sips", T.CHARBUF, "", "server addresses of poll events"),
    ("fdlist.cports", T.CHARBUF, "", "client ports of poll events"),
    ("fdlist.sports", T.CHARBUF, "", "server ports of poll events"),
    ("fs.path.name", T.CHARBUF, "", "path of a filesystem event"),
    ("fs.path.nameraw", T.CHARBUF, "", "raw path of a filesystem event"),
    ("fs.path.source", T.CHARBUF, "", "source path of a filesystem event"),
    ("fs.path.sourceraw", T.CHARBUF, "", "raw source path"),
    ("fs.path.target", T.CHARBUF, "", "target path of a filesystem event"),
    ("fs.path.targetraw", T.CHARBUF, "", "raw target path"),
    # containers (container plugin)
    ("container.id", T.CHARBUF, "", "container id"),
    ("container.full_id", T.CHARBUF, "", "full container id"),
    ("container.name", T.CHARBUF, "", "container name"),
    ("container.image", T.CHARBUF, "", "container image"),
    ("container.image.id", T.CHARBUF, "", "container image id"),
    ("container.type", T.CHARBUF, "", "container type"),
    ("container.privileged", T.BOOL, "", "true for privileged containers"),
    ("container.mounts", T.CHARBUF, "", "container mounts"),
    ("container.mount", T.CHARBUF, "Rk", "one mount by number or source"),
    ("container.mount.source", T.CHARBUF, "Rk", "mount source by number or destination"),
    ("container.mount.dest", T.CHARBUF, "Rk", "mount destination by number or source"),
    ("container.mount.mode", T.CHARBUF, "Rk", "mount mode"),
    ("container.mount.rdwr", T.CHARBUF, "Rk", "mount read/write flag"),
    ("container.mount.propagation", T.CHARBUF, "Rk", "mount propagation"),
    ("container.image.repository", T.CHARBUF, "", "container image repository"),
    ("container.image.tag", T.CHARBUF, "", "container image tag"),
    ("container.image.digest", T.CHARBUF, "", "container image digest"),
    ("container.healthcheck", T.CHARBUF, "", "container health check"),
    ("container.liveness_probe", T.CHARBUF, "", "container liveness probe"),
    ("container.readiness_probe", T.CHARBUF, "", "container readiness probe"),
    ("container.start_ts", T.ABSTIME, "", "container start time"),
    ("container.duration", T.RELTIME, "", "nanoseconds since the container started"),
    ("container.ip", T.CHARBUF, "", "container IP address"),
    ("container.cni.json", T.CHARBUF, "", "container CNI result"),
    ("container.host_pid", T.BOOL, "", "true if the container shares the host pid namespace"),
    ("container.host_network", T.BOOL, "", "true if the container shares the host network"),
    ("container.host_ipc", T.BOOL, "", "true if the container shares the host IPC namespace"),
    ("container.label", T.CHARBUF, "Rk", "one container label"),
    ("container.labels", T.CHARBUF, "", "container labels"),
    # kubernetes metadata
    ("k8s.pod.name", T.CHARBUF, "", "pod name"),
    ("k8s.pod.id", T.CHARBUF, "", "pod id"),
    ("k8s.pod.uid", T.CHARBUF, "", "pod uid"),
    ("k8s.pod.full_id", T.CHARBUF, "", "full pod id"),
    ("k8s.pod.sandbox_id", T.CHARBUF, "", "pod sandbox id"),
    ("k8s.pod.full_sandbox_id", T.CHARBUF, "", "full pod sandbox id"),
    ("k8s.pod.label", T.CHARBUF, "Rk", "one pod label"),
    ("k8s.pod.labels", T.CHARBUF, "", "pod labels"),
    ("k8s.pod.ip", T.CHARBUF, "", "pod IP"),
    ("k8s.pod.cni.json", T.CHARBUF, "", "pod CNI result"),
    ("k8s.ns.name", T.CHARBUF, "", "namespace name"),
    ("k8s.ns.id", T.CHARBUF, "", "namespace id"),
    ("k8s.ns.label", T.CHARBUF, "Rk", "one namespace label"),
    ("k8s.ns.labels", T.CHARBUF, "", "namespace labels"),
    ("k8s.rc.name", T.CHARBUF, "", "replication controller name"),
    ("k8s.rc.id", T.CHARBUF, "", "replication controller id"),
    ("k8s.rc.label", T.CHARBUF, "Rk", "one replication controller label"),
    ("k8s.rc.labels", T.CHARBUF, "", "replication controller labels"),
    ("k8s.svc.name", T.CHARBUF, "", "service name"),
    ("k8s.svc.id", T.CHARBUF, "", "service id"),
    ("k8s.svc.label", T.CHARBUF, "Rk", "one service label"),
    ("k8s.svc.labels", T.CHARBUF, "", "service labels"),
    ("k8s.rs.name", T.CHARBUF, "", "replica set name"),
    ("k8s.rs.id", T.CHARBUF, "", "replica set id"),
    ("k8s.rs.label", T.CHARBUF, "Rk", "one replica set label"),
    ("k8s.rs.labels", T.CHARBUF, "", "replica set labels"),
    ("k8s.deployment.name", T.CHARBUF, "", "deployment name"),
    ("k8s.deployment.id", T.CHARBUF, "", "deployment id"),
    ("k8s.deployment.label", T.CHARBUF, "Rk", "one deployment label"),
    ("k8s.deployment.labels", T.CHARBUF, "", "deployment labels"),
)

_KINDS: dict[str, ArgKind] = {"i": "index", "k": "key", "n": "name"}


def _info(name: str, ftype: FieldType, flags: str, description: str) -> FieldInfo:
    arg: ArgRule = "required" if "R" in flags else "allowed" if "A" in flags else "none"
    kind = next((_KINDS[c] for c in flags if c in _KINDS), None)
    return FieldInfo(
        name=name,
        type=ftype,
        is_list="L" in flags,
        arg=arg,
        arg_kind=kind,
        filter_only="F" in flags,
        no_rhs="N" in flags,
        no_transformer="X" in flags,
        deprecated="D" in flags,
        description=description,
    )


SYSCALL_FIELDS: Mapping[str, FieldInfo] = {row[0]: _info(*row) for row in _TABLE}

# Ancestor fields: without an index they mean "any ancestor".
_ANCESTOR_FIELDS = ("proc.aname", "proc.apid", "proc.aexe", "proc.aexepath", "proc.acmdline", "proc.aenv")
# How far the "any ancestor" scan looks; exports carry 8 levels.
MAX_ANCESTORS = 64


def _bound(info: FieldInfo, arg: str | None, key: str, loader: Loader, **kw: Any) -> BoundField:
    return BoundField(info, arg, key, "syscall", loader, **kw)


def _bind_ancestor(info: FieldInfo, arg: str | None, key: str) -> BoundField:
    if arg is not None:
        # proc.aname[03] is proc.aname[3]; the exports spell the index in decimal.
        index = int(arg)
        if index < 0:
            raise FieldArgumentError(f"invalid number {arg}")
        real_key = f"{info.name}[{index}]"
        return _bound(info, arg, real_key, plain_loader(real_key, info))
    keys = tuple(f"{info.name}[{i}]" for i in range(1, MAX_ANCESTORS + 1))
    coerce = scalar_coercer(info.type)

    def any_ancestor(event: Mapping[str, Any]) -> tuple[Any, ...] | None:
        found = []
        for k in keys:
            raw = event.get(k)
            if raw is None:
                break
            value = coerce(raw)
            if value is not None:
                found.append(value)
        return tuple(found) if found else None

    return _bound(info, None, key, Loader("derived", key=key, fn=any_ancestor), multi="any")


def _endpoint_loader(info: FieldInfo, keys: tuple[str, ...], ftype: FieldType) -> Loader:
    coerce = scalar_coercer(ftype)

    def endpoints(event: Mapping[str, Any]) -> tuple[Any, ...] | None:
        found = []
        for k in keys:
            raw = event.get(k)
            if raw is not None:
                value = coerce(raw)
                if value is not None:
                    found.append(value)
        return tuple(found) if found else None

    return Loader("derived", key=info.name, fn=endpoints)


def _bind_endpoints(keys: tuple[str, ...], ftype: FieldType) -> Binder:
    def bind(info: FieldInfo, arg: str | None, key: str) -> BoundField:
        return _bound(info, arg, key, _endpoint_loader(info, keys, ftype), multi="socket")

    return bind


def _bind_alias(source_key: str, ftype: FieldType) -> Binder:
    """A field computed from another exported field of a different type (``fd.cnet`` from ``fd.cip``)."""

    def bind(info: FieldInfo, arg: str | None, key: str) -> BoundField:
        coerce = scalar_coercer(ftype)

        def alias(event: Mapping[str, Any]) -> Any:
            raw = event.get(source_key)
            return None if raw is None else coerce(raw)

        return _bound(info, arg, key, Loader("derived", key=key, fn=alias))

    return bind


def _bind_proto(port_key: str, exported: bool) -> Binder:
    def bind(info: FieldInfo, arg: str | None, key: str) -> BoundField:
        port = scalar_coercer(T.PORT)

        def proto(event: Mapping[str, Any]) -> str | None:
            if exported:
                raw = event.get(key)
                if raw is not None:
                    return raw if raw.__class__ is str else str(raw)
            value = port(event.get(port_key))
            return None if value is None else str(value)

        return _bound(info, arg, key, Loader("derived", key=key, fn=proto))

    return bind


def _bind_time(render: Callable[[int], str | None]) -> Binder:
    def bind(info: FieldInfo, arg: str | None, key: str) -> BoundField:
        def rendered(event: Mapping[str, Any]) -> str | None:
            raw = event.get(key)
            if raw is None or raw.__class__ is str:
                return raw
            if raw.__class__ is int:
                return render(raw)
            return str(raw)

        return _bound(info, arg, key, Loader("derived", key=key, fn=rendered))

    return bind


def _bind_source(info: FieldInfo, arg: str | None, key: str) -> BoundField:
    def source(event: Mapping[str, Any]) -> str:
        raw = event.get(key)
        if raw is None:
            return "syscall"
        return raw if raw.__class__ is str else str(raw)

    return _bound(info, arg, key, Loader("derived", key=key, fn=source))


def _bind_evt_arg(info: FieldInfo, arg: str | None, key: str) -> BoundField:
    assert arg is not None
    if key.startswith(info.name + "["):
        if not arg.strip().lstrip("+-").isdigit():
            raise FieldArgumentError(f"invalid number {arg}")
    elif arg not in PARAM_TYPES:
        raise FieldArgumentError(f"unknown event argument {arg}")
    return _bound(info, arg, key, plain_loader(key, info))


def _bind_evt_rawarg(info: FieldInfo, arg: str | None, key: str) -> BoundField:
    assert arg is not None
    if key.startswith(info.name + "["):
        raise FieldArgumentError("evt.arg fields must be expressed explicitly")
    ptype = PARAM_TYPES.get(arg)
    if ptype is None:
        raise FieldArgumentError(f"unknown event argument {arg}")
    typed = FieldInfo(
        name=info.name,
        type=ptype,
        arg=info.arg,
        arg_kind=info.arg_kind,
        no_rhs=info.no_rhs,
        no_transformer=info.no_transformer,
        description=info.description,
    )
    return _bound(typed, arg, key, plain_loader(key, typed))


def _bind_hex(info: FieldInfo, arg: str | None, key: str) -> BoundField:
    # fd.dev is printed in hex by the exports ("55E2").
    return _bound(info, arg, key, plain_loader(key, info, hex_strings=True))


def _bind_fd_types(info: FieldInfo, arg: str | None, key: str) -> BoundField:
    if arg is not None:
        int(arg)
    return _bound(info, arg, key, plain_loader(key, info))


def _bind_evt_type_is(info: FieldInfo, arg: str | None, key: str) -> BoundField:
    assert arg is not None
    wanted = arg

    def type_is(event: Mapping[str, Any]) -> int | None:
        evtype = event.get("evt.type")
        if evtype is None:
            return None
        return 1 if evtype == wanted else 0

    return _bound(info, arg, key, Loader("derived", key=key, fn=type_is))


def _binders() -> dict[str, Binder]:
    binders: dict[str, Binder] = {name: _bind_ancestor for name in _ANCESTOR_FIELDS}
    binders.update(
        {
            "fd.ip": _bind_endpoints(("fd.cip", "fd.sip"), T.IPADDR),
            "fd.net": _bind_endpoints(("fd.cip", "fd.sip"), T.IPADDR),
            "fd.port": _bind_endpoints(("fd.cport", "fd.sport"), T.PORT),
            "fd.proto": _bind_endpoints(("fd.cport", "fd.sport"), T.PORT),
            "fd.cnet": _bind_alias("fd.cip", T.IPADDR),
            "fd.snet": _bind_alias("fd.sip", T.IPADDR),
            "fd.lnet": _bind_alias("fd.lip", T.IPADDR),
            "fd.rnet": _bind_alias("fd.rip", T.IPADDR),
            "fd.cproto": _bind_proto("fd.cport", exported=True),
            "fd.sproto": _bind_proto("fd.sport", exported=True),
            "fd.lproto": _bind_proto("fd.lport", exported=True),
            "fd.rproto": _bind_proto("fd.rport", exported=True),
            "evt.time": _bind_time(evttime.format_time),
            "evt.time.s": _bind_time(evttime.format_time_s),
            "evt.time.iso8601": _bind_time(evttime.format_iso8601),
            "evt.datetime": _bind_time(evttime.format_datetime),
            "evt.datetime.s": _bind_time(evttime.format_datetime_s),
            "evt.source": _bind_source,
            "evt.arg": _bind_evt_arg,
            "evt.rawarg": _bind_evt_rawarg,
            "evt.type.is": _bind_evt_type_is,
            "fd.dev": _bind_hex,
            "fd.types": _bind_fd_types,
        }
    )
    return binders


@functools.cache
def syscall_source() -> FieldSource:
    return FieldSource("syscall", SYSCALL_FIELDS, binders=_binders())
