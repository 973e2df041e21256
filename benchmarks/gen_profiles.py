"""The simulated fleet behind the syscall workload: container images, host daemons and what they touch.

Plain constant tables, so the generator stays a small state machine over them.  Names, paths and
command lines are ordinary Kubernetes-node activity chosen to stay clear of the upstream rules'
conditions; the alerting activity lives in ``gen_syscall.py``'s scenarios instead.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ProgramSpec:
    """One long-running program: its identity and what it does while it runs."""

    name: str
    exepath: str
    args: str
    user: str
    uid: int
    cwd: str
    reads: tuple[str, ...]
    writes: tuple[str, ...] = ()
    connects: tuple[tuple[str, int, str], ...] = ()  # (server ip, port, l4proto)
    listens: tuple[int, ...] = ()
    # (name, exepath, args) of short-lived children.  In a container these are exec probes and
    # `kubectl exec` commands: the runtime starts them, so their parent is runc, not the app.
    execs: tuple[tuple[str, str, str], ...] = ()
    workers: int = 0  # forked copies running as children of the main process


@dataclass(frozen=True, slots=True)
class AppSpec:
    """A containerised workload: one image, one namespace, a few replicas."""

    repository: str
    tag: str
    namespace: str
    deployment: str
    replicas: int
    program: ProgramSpec
    privileged: bool = False


_PY_LIBS = (
    "/usr/local/lib/python3.11/site-packages/django/db/models/query.py",
    "/usr/local/lib/python3.11/site-packages/gunicorn/workers/sync.py",
    "/usr/local/lib/python3.11/encodings/__init__.py",
    "/usr/local/lib/python3.11/json/decoder.py",
    "/app/shop/settings.py",
    "/app/shop/views/orders.py",
    "/app/shop/templates/orders/list.html",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/hosts",
    "/etc/resolv.conf",
)

APPS: tuple[AppSpec, ...] = (
    AppSpec(
        "docker.io/library/nginx", "1.25.3", "web", "frontend", 3,
        ProgramSpec(
            "nginx", "/usr/sbin/nginx", "-g daemon off;", "root", 0, "/",
            reads=(
                "/usr/share/nginx/html/index.html", "/usr/share/nginx/html/static/app.3f9c1e.js",
                "/usr/share/nginx/html/static/main.8d2a41.css", "/etc/nginx/nginx.conf",
                "/etc/nginx/conf.d/default.conf", "/usr/share/nginx/html/favicon.ico",
            ),
            writes=("/var/log/nginx/access.log", "/var/log/nginx/error.log", "/var/cache/nginx/proxy_temp/1/00/0000000001"),
            connects=(("10.96.41.12", 8000, "tcp"), ("10.96.0.10", 53, "udp")),
            listens=(80, 443),
            workers=2,
        ),
    ),
    AppSpec(
        "registry.example.com/shop/api", "2.4.1", "shop", "orders-api", 3,
        ProgramSpec(
            "gunicorn", "/usr/local/bin/python3.11", "/usr/local/bin/gunicorn shop.wsgi -w 3 -b :8000",
            "app", 1000, "/app",
            reads=_PY_LIBS,
            writes=("/tmp/gunicorn-heartbeat", "/app/logs/orders.log"),
            connects=(("10.96.12.40", 5432, "tcp"), ("10.96.7.3", 6379, "tcp"), ("10.96.0.10", 53, "udp")),
            listens=(8000,),
            execs=(("celery", "/usr/local/bin/celery", "-A shop inspect ping"),),
            workers=3,
        ),
    ),
    AppSpec(
        "registry.example.com/payments/ledger", "1.9.0", "payments", "ledger", 2,
        ProgramSpec(
            "java", "/opt/java/openjdk/bin/java", "-XX:MaxRAMPercentage=75 -jar /opt/app/ledger.jar",
            "app", 1001, "/opt/app",
            reads=(
                "/opt/app/ledger.jar", "/opt/java/openjdk/lib/modules", "/opt/app/config/application-prod.yaml",
                "/opt/java/openjdk/lib/security/cacerts", "/proc/self/cgroup", "/sys/fs/cgroup/memory.max",
            ),
            writes=("/tmp/hsperfdata_app/1", "/opt/app/logs/ledger.log"),
            connects=(("10.96.88.9", 9092, "tcp"), ("10.96.12.40", 5432, "tcp"), ("10.96.0.10", 53, "udp")),
            listens=(8080, 8081),
            execs=(("grpc_health_probe", "/bin/grpc_health_probe", "-addr=:8081"),),
        ),
    ),
    AppSpec(
        "registry.example.com/web/storefront", "5.0.2", "web", "storefront", 2,
        ProgramSpec(
            "node", "/usr/local/bin/node", "/srv/app/server.js", "node", 1000, "/srv/app",
            reads=(
                "/srv/app/server.js", "/srv/app/node_modules/express/lib/router/index.js",
                "/srv/app/node_modules/react-dom/cjs/react-dom-server.node.production.min.js",
                "/srv/app/dist/manifest.json", "/etc/ssl/certs/ca-certificates.crt",
            ),
            writes=("/srv/app/cache/fetch/7b1f2c", "/tmp/storefront.sock.lock"),
            connects=(("10.96.41.12", 8000, "tcp"), ("10.96.7.3", 6379, "tcp"), ("10.96.0.10", 53, "udp")),
            listens=(3000,),
            execs=(("node", "/usr/local/bin/node", "/srv/app/healthcheck.js"),),
        ),
    ),
    AppSpec(
        "docker.io/library/postgres", "16.2", "shop", "orders-db", 1,
        ProgramSpec(
            "postgres", "/usr/lib/postgresql/16/bin/postgres", "-c config_file=/etc/postgresql/postgresql.conf",
            "postgres", 999, "/var/lib/postgresql/data",
            reads=(
                "/var/lib/postgresql/data/base/16384/2619", "/var/lib/postgresql/data/base/16384/16402",
                "/var/lib/postgresql/data/global/pg_control", "/var/lib/postgresql/data/pg_xact/0000",
            ),
            writes=(
                "/var/lib/postgresql/data/pg_wal/000000010000000000000042",
                "/var/lib/postgresql/data/base/16384/16402", "/var/lib/postgresql/data/pg_stat_tmp/global.tmp",
            ),
            listens=(5432,),
            execs=(("pg_isready", "/usr/lib/postgresql/16/bin/pg_isready", "-U postgres -h 127.0.0.1"),),
            workers=4,
        ),
    ),
    AppSpec(
        "docker.io/library/redis", "7.2.4", "shop", "cache", 1,
        ProgramSpec(
            "redis-server", "/usr/local/bin/redis-server", "*:6379", "redis", 999, "/data",
            reads=("/data/dump.rdb", "/usr/local/etc/redis/redis.conf"),
            writes=("/data/temp-2291.rdb", "/data/appendonlydir/appendonly.aof.1.incr.aof"),
            listens=(6379,),
            execs=(("redis-cli", "/usr/local/bin/redis-cli", "ping"),),
        ),
    ),
    AppSpec(
        "registry.k8s.io/coredns/coredns", "v1.11.1", "kube-system", "coredns", 2,
        ProgramSpec(
            "coredns", "/coredns", "-conf /etc/coredns/Corefile", "root", 0, "/",
            reads=("/etc/coredns/Corefile", "/etc/resolv.conf"),
            connects=(("10.0.0.2", 53, "udp"),),
            listens=(53, 9153),
        ),
    ),
    AppSpec(
        "cr.fluentbit.io/fluent/fluent-bit", "3.0.4", "logging", "fluent-bit", 1,
        ProgramSpec(
            "fluent-bit", "/fluent-bit/bin/fluent-bit", "-c /fluent-bit/etc/fluent-bit.conf", "root", 0, "/",
            reads=(
                "/var/log/containers/frontend-7c9d8f6b5-x2kqp_web_nginx-3e1f.log",
                "/var/log/containers/orders-api-5f7d9c8b6-hq2lm_shop_api-9a0b.log",
                "/var/log/containers/ledger-6b8f7d9c4-zp7wr_payments_ledger-1c2d.log",
                "/fluent-bit/etc/parsers.conf",
            ),
            writes=("/var/fluent-bit/state/flb_kube.db", "/var/fluent-bit/state/flb_kube.db-wal"),
            connects=(("10.96.55.21", 9200, "tcp"),),
            listens=(2020,),
        ),
    ),
    AppSpec(
        "quay.io/prometheus/prometheus", "v2.51.2", "monitoring", "prometheus", 1,
        ProgramSpec(
            "prometheus", "/bin/prometheus", "--config.file=/etc/prometheus/prometheus.yml",
            "nobody", 65534, "/prometheus",
            reads=("/etc/prometheus/prometheus.yml", "/prometheus/wal/00000117", "/prometheus/chunks_head/000042"),
            writes=("/prometheus/wal/00000117", "/prometheus/chunks_head/000042"),
            connects=(("10.0.3.17", 9100, "tcp"), ("10.244.1.15", 9153, "tcp"), ("10.244.2.31", 8081, "tcp")),
            listens=(9090,),
        ),
    ),
    AppSpec(
        "registry.k8s.io/kube-proxy", "v1.29.4", "kube-system", "kube-proxy", 1,
        ProgramSpec(
            "kube-proxy", "/usr/local/bin/kube-proxy", "--config=/var/lib/kube-proxy/config.conf",
            "root", 0, "/",
            reads=("/var/lib/kube-proxy/config.conf", "/run/xtables.lock", "/proc/net/ip_tables_names"),
            execs=(("iptables-restore", "/usr/sbin/iptables-restore", "-w 5 -W 100000 --noflush --counters"),),
        ),
        privileged=True,
    ),
)

HOST_PROGRAMS: tuple[ProgramSpec, ...] = (
    ProgramSpec(
        "kubelet", "/usr/bin/kubelet",
        "--config=/var/lib/kubelet/config.yaml --kubeconfig=/etc/kubernetes/kubelet.conf",
        "root", 0, "/",
        reads=(
            "/var/lib/kubelet/config.yaml", "/etc/kubernetes/kubelet.conf", "/proc/meminfo", "/proc/loadavg",
            "/sys/fs/cgroup/kubepods.slice/cpu.stat", "/var/lib/kubelet/pki/kubelet-client-current.pem",
        ),
        writes=("/var/lib/kubelet/cpu_manager_state", "/var/log/pods/shop_orders-api-5f7d9c8b6-hq2lm/api/0.log"),
        connects=(("10.0.0.10", 6443, "tcp"),),
        listens=(10250,),
        execs=(
            ("iptables", "/usr/sbin/iptables", "-w 5 -W 100000 -t nat -L KUBE-MARK-MASQ"),
            ("du", "/usr/bin/du", "-s -B 1 /var/lib/kubelet/pods/5c1f2d3e/volumes"),
        ),
    ),
    ProgramSpec(
        "containerd", "/usr/bin/containerd", "--config /etc/containerd/config.toml", "root", 0, "/",
        reads=(
            "/etc/containerd/config.toml", "/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db",
            "/var/lib/containerd/io.containerd.content.v1.content/blobs/sha256/4f3c1d2a",
        ),
        writes=("/var/lib/containerd/io.containerd.metadata.v1.bolt/meta.db",),
        listens=(10010,),
        execs=(("containerd-shim", "/usr/bin/containerd-shim-runc-v2", "-namespace k8s.io -id 5f7d9c8b6e1a -address /run/containerd/containerd.sock"),),
    ),
    ProgramSpec(
        "systemd-journal", "/usr/lib/systemd/systemd-journald", "", "root", 0, "/",
        reads=("/proc/1/cgroup", "/run/systemd/journal/streams/8:2291"),
        writes=("/var/log/journal/3f1e2d4c5b6a/system.journal",),
    ),
    ProgramSpec(
        "node_exporter", "/usr/bin/node_exporter", "--path.rootfs=/host --collector.systemd", "nobody", 65534, "/",
        reads=("/proc/stat", "/proc/meminfo", "/proc/diskstats", "/sys/class/net/eth0/statistics/rx_bytes", "/proc/net/dev"),
        listens=(9100,),
    ),
    ProgramSpec(
        "cron", "/usr/sbin/cron", "-f", "root", 0, "/var/spool/cron",
        reads=("/etc/crontab", "/etc/cron.d/e2scrub_all", "/var/spool/cron/crontabs/root"),
        execs=(("logrotate", "/usr/sbin/logrotate", "/etc/logrotate.conf"), ("run-parts", "/bin/run-parts", "--report /etc/cron.daily")),
    ),
    ProgramSpec(
        "sshd", "/usr/sbin/sshd", "-D", "root", 0, "/",
        reads=("/etc/ssh/sshd_config", "/etc/ssh/ssh_host_ed25519_key", "/etc/passwd", "/etc/group"),
        writes=("/var/log/auth.log",),
        listens=(22,),
    ),
    ProgramSpec(
        "chronyd", "/usr/sbin/chronyd", "-F 1", "_chrony", 118, "/",
        reads=("/etc/chrony/chrony.conf", "/var/lib/chrony/chrony.drift"),
        writes=("/var/lib/chrony/chrony.drift",),
        connects=(("169.254.169.123", 123, "udp"),),
    ),
)

HOST_IP = "10.0.3.17"
CLIENT_IPS = ("10.244.1.15", "10.244.2.31", "10.244.3.7", "10.0.1.200", "10.0.2.118", "172.16.4.9")
HOST_PARENTS = ("systemd",)
SHIM = "containerd-shim"
