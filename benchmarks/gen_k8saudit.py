"""Seeded Kubernetes audit events: native ``audit.k8s.io/v1`` ``Event`` objects.

They follow the shape of ``shared/data/k8saudit``.  Benign traffic is what an API server logs all day
(controllers and kubelets reading and updating); the alerting share creates privileged,
hostNetwork and hostPath pods, execs and attaches into pods, binds cluster-admin, and stores
credentials in configmaps.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

Event = dict[str, object]

_START = datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
_NAMESPACES = ("shop", "payments", "web", "monitoring", "logging", "default")
_ADMINS = ("alice@example.com", "bob@example.com", "ci-deployer")
_ADMIN_GROUPS = ["system:masters", "system:authenticated"]


class K8sAuditGenerator:
    """Deterministic stream of audit events for one seed; ``alert_share`` of them from SCENARIOS."""

    def __init__(self, seed: int, alert_share: float = 0.01) -> None:
        if not 0.0 <= alert_share <= 1.0:
            raise ValueError(f"alert share must lie in [0, 1], got {alert_share}")
        self.rng = random.Random(seed ^ 0x6B38)
        self.alert_share = alert_share
        self._clock = _START + timedelta(microseconds=self.rng.randrange(10**9))
        self._benign: list[Callable[[], Event]] = [
            self._lease_update, self._lease_update, self._lease_update,
            self._controller_list, self._controller_list,
            self._kubelet_get, self._kubelet_get,
            self._event_create, self._unprivileged_pod,
        ]
        self._scenarios = [getattr(self, f"_alert_{name}") for name in SCENARIOS]

    # ---- common parts ------------------------------------------------------------------------

    def _uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _tick(self) -> tuple[str, str, str]:
        self._clock += timedelta(microseconds=1 + int(self.rng.expovariate(1 / 4000)))
        received = self._clock
        done = received + timedelta(microseconds=300 + self.rng.randrange(20000))
        return (
            received.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            done.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            received.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )

    def _event(self, *, verb: str, uri: str, user: dict[str, object], object_ref: dict[str, object],
               code: int, stage: str = "ResponseComplete", level: str = "Metadata",
               user_agent: str = "kubectl/v1.29.4 (linux/amd64) kubernetes/55019c8") -> Event:
        received, done, second = self._tick()
        return {
            "kind": "Event",
            "apiVersion": "audit.k8s.io/v1",
            "level": level,
            "auditID": self._uid(),
            "stage": stage,
            "requestURI": uri,
            "verb": verb,
            "user": user,
            "sourceIPs": [self.rng.choice(("10.0.1.200", "10.0.3.17", "192.168.49.1"))],
            "userAgent": user_agent,
            "objectRef": object_ref,
            "responseStatus": {"metadata": {}, "code": code},
            "requestReceivedTimestamp": received,
            "stageTimestamp": done,
            "metadata": {"creationTimestamp": second},
            "timestamp": second,
            "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": ""},
        }

    def _admin(self) -> dict[str, object]:
        return {"username": self.rng.choice(_ADMINS), "groups": list(_ADMIN_GROUPS)}

    def _pod_name(self, app: str) -> str:
        return f"{app}-{self.rng.randbytes(4).hex()[:9]}-{self.rng.randbytes(3).hex()[:5]}"

    def _pod(self, namespace: str, name: str, *, image: str, privileged: bool = False, host_network: bool = False,
             host_path: str | None = None) -> dict[str, object]:
        container: dict[str, object] = {
            "name": name.split("-")[0],
            "image": image,
            "resources": {"limits": {"cpu": "500m", "memory": "256Mi"}},
            "imagePullPolicy": "IfNotPresent",
        }
        if privileged:
            container["securityContext"] = {"privileged": True}
        spec: dict[str, object] = {"containers": [container], "restartPolicy": "Always", "serviceAccountName": "default"}
        if host_network:
            spec["hostNetwork"] = True
        if host_path is not None:
            spec["volumes"] = [{"name": "host", "hostPath": {"path": host_path, "type": ""}}]
            container["volumeMounts"] = [{"name": "host", "mountPath": "/host" + host_path}]
        return {
            "kind": "Pod",
            "apiVersion": "v1",
            "metadata": {"name": name, "namespace": namespace, "labels": {"app": name.split("-")[0]}},
            "spec": spec,
        }

    def _create_pod(self, namespace: str, name: str, user: dict[str, object], *, image: str, privileged: bool = False,
                    host_network: bool = False, host_path: str | None = None) -> Event:
        pod = self._pod(namespace, name, image=image, privileged=privileged, host_network=host_network, host_path=host_path)
        event = self._event(
            verb="create", uri=f"/api/v1/namespaces/{namespace}/pods", user=user,
            object_ref={"resource": "pods", "namespace": namespace, "name": name, "apiVersion": "v1"},
            code=201, level="RequestResponse",
        )
        event["requestObject"] = pod
        event["responseObject"] = pod
        return event

    # ---- benign ------------------------------------------------------------------------------

    def _lease_update(self) -> Event:
        node = f"node-{self.rng.randrange(1, 6)}"
        return self._event(
            verb="update", uri=f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node}?timeout=10s",
            user={"username": f"system:node:{node}", "groups": ["system:nodes", "system:authenticated"]},
            object_ref={"resource": "leases", "namespace": "kube-node-lease", "name": node,
                        "apiGroup": "coordination.k8s.io", "apiVersion": "v1"},
            code=200, user_agent="kubelet/v1.29.4 (linux/amd64) kubernetes/55019c8",
        )

    def _controller_list(self) -> Event:
        resource = self.rng.choice(("endpointslices", "replicasets", "pods", "services"))
        namespace = self.rng.choice(_NAMESPACES)
        return self._event(
            verb=self.rng.choice(("list", "watch", "get")), uri=f"/api/v1/namespaces/{namespace}/{resource}?limit=500",
            user={"username": "system:kube-controller-manager", "groups": ["system:authenticated"]},
            object_ref={"resource": resource, "namespace": namespace, "apiVersion": "v1"},
            code=200, user_agent="kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55019c8/shared-informers",
        )

    def _kubelet_get(self) -> Event:
        namespace = self.rng.choice(_NAMESPACES)
        name = self.rng.choice(("kube-root-ca.crt", "app-config", "feature-flags"))
        node = f"node-{self.rng.randrange(1, 6)}"
        return self._event(
            verb="get", uri=f"/api/v1/namespaces/{namespace}/configmaps/{name}",
            user={"username": f"system:node:{node}", "groups": ["system:nodes", "system:authenticated"]},
            object_ref={"resource": "configmaps", "namespace": namespace, "name": name, "apiVersion": "v1"},
            code=200, user_agent="kubelet/v1.29.4 (linux/amd64) kubernetes/55019c8",
        )

    def _event_create(self) -> Event:
        namespace = self.rng.choice(_NAMESPACES)
        return self._event(
            verb="create", uri=f"/api/v1/namespaces/{namespace}/events",
            user={"username": "system:serviceaccount:kube-system:replicaset-controller", "groups": ["system:serviceaccounts", "system:authenticated"]},
            object_ref={"resource": "events", "namespace": namespace, "apiVersion": "v1"},
            code=201, user_agent="kube-controller-manager/v1.29.4 (linux/amd64) kubernetes/55019c8",
        )

    def _unprivileged_pod(self) -> Event:
        namespace = self.rng.choice(_NAMESPACES[:3])
        app = self.rng.choice(("orders-api", "storefront", "ledger"))
        user: dict[str, object] = {
            "username": "system:serviceaccount:kube-system:replicaset-controller",
            "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"],
        }
        return self._create_pod(namespace, self._pod_name(app), user, image=f"registry.example.com/{namespace}/{app}:2.4.1")

    # ---- alerting: each names the rule of k8s_audit_rules.yaml it satisfies ----------------------

    def _alert_privileged_pod(self) -> Event:
        """Create Privileged Pod."""
        namespace = self.rng.choice(_NAMESPACES)
        return self._create_pod(namespace, self._pod_name("debug"), self._admin(), image="docker.io/library/alpine:3.19", privileged=True)

    def _alert_host_network_pod(self) -> Event:
        """Create HostNetwork Pod."""
        namespace = self.rng.choice(_NAMESPACES)
        return self._create_pod(namespace, self._pod_name("netshoot"), self._admin(), image="docker.io/nicolaka/netshoot:v0.12", host_network=True)

    def _alert_sensitive_mount_pod(self) -> Event:
        """Create Sensitive Mount Pod."""
        namespace = self.rng.choice(_NAMESPACES)
        path = self.rng.choice(("/etc", "/var/run/docker.sock", "/proc", "/root", "/var/lib/kubelet"))
        return self._create_pod(namespace, self._pod_name("backup"), self._admin(), image="docker.io/library/busybox:1.36", host_path=path)

    def _pod_subresource(self, subresource: str, query: str) -> Event:
        namespace = self.rng.choice(_NAMESPACES)
        pod = self._pod_name(self.rng.choice(("orders-api", "storefront", "ledger")))
        return self._event(
            verb="create", uri=f"/api/v1/namespaces/{namespace}/pods/{pod}/{subresource}?{query}",
            user=self._admin(), stage="ResponseStarted", level="Request", code=101,
            object_ref={"resource": "pods", "namespace": namespace, "name": pod, "apiVersion": "v1", "subresource": subresource},
        )

    def _alert_exec_pod(self) -> Event:
        """Attach/Exec Pod (exec)."""
        return self._pod_subresource("exec", "command=sh&container=app&stdin=true&stdout=true&tty=true")

    def _alert_attach_pod(self) -> Event:
        """Attach/Exec Pod (attach)."""
        return self._pod_subresource("attach", "container=app&stderr=true&stdin=true&stdout=true")

    def _alert_cluster_admin_binding(self) -> Event:
        """Attach to cluster-admin Role; K8s ClusterRoleBinding Created."""
        name = f"temp-admin-{self.rng.randbytes(3).hex()}"
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": self.rng.choice(_NAMESPACES)}],
        }
        event = self._event(
            verb="create", uri="/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", user=self._admin(),
            object_ref={"resource": "clusterrolebindings", "name": name, "apiGroup": "rbac.authorization.k8s.io", "apiVersion": "v1"},
            code=201, level="RequestResponse",
        )
        event["requestObject"] = binding
        event["responseObject"] = binding
        return event

    def _alert_configmap_credentials(self) -> Event:
        """Create/Modify Configmap With Private Credentials."""
        namespace = self.rng.choice(_NAMESPACES)
        name = self.rng.choice(("app-env", "backup-config", "s3-sync"))
        configmap = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": namespace},
            "data": {"access.properties": "aws_access_key_id = AKIAEXAMPLE7Q2\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG\n"},
        }
        event = self._event(
            verb="create", uri=f"/api/v1/namespaces/{namespace}/configmaps", user=self._admin(),
            object_ref={"resource": "configmaps", "namespace": namespace, "name": name, "apiVersion": "v1"},
            code=201, level="RequestResponse",
        )
        event["requestObject"] = configmap
        event["responseObject"] = configmap
        return event

    def _alert_secret_get(self) -> Event:
        """K8s Secret Get Successfully."""
        namespace = self.rng.choice(_NAMESPACES)
        name = self.rng.choice(("db-credentials", "stripe-api-key", "registry-pull"))
        return self._event(
            verb="get", uri=f"/api/v1/namespaces/{namespace}/secrets/{name}", user=self._admin(),
            object_ref={"resource": "secrets", "namespace": namespace, "name": name, "apiVersion": "v1"}, code=200,
        )

    def _alert_kube_system_pod(self) -> Event:
        """Pod Created in Kube Namespace."""
        return self._create_pod("kube-system", self._pod_name("node-debugger"), self._admin(), image="docker.io/library/ubuntu:22.04")

    # ---- stream ----------------------------------------------------------------------------------

    def labeled(self, count: int) -> Iterator[tuple[str, Event]]:
        rng = self.rng
        for _ in range(count):
            if self.alert_share and rng.random() < self.alert_share:
                index = rng.randrange(len(SCENARIOS))
                yield SCENARIOS[index], self._scenarios[index]()
            else:
                yield "benign", rng.choice(self._benign)()

    def events(self, count: int) -> Iterator[Event]:
        for _, event in self.labeled(count):
            yield event


SCENARIOS: tuple[str, ...] = (
    "privileged_pod",
    "host_network_pod",
    "sensitive_mount_pod",
    "exec_pod",
    "attach_pod",
    "cluster_admin_binding",
    "configmap_credentials",
    "secret_get",
    "kube_system_pod",
)
