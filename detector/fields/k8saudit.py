"""Fields of the ``k8s_audit`` source: the k8saudit plugin's ``ka.*``, the json plugin's ``json.*``/``jevt.*``
and the generic ``evt.*`` fields libsinsp offers for every plugin event.

The event is a native ``audit.k8s.io`` ``Event`` object as decoded from JSON.
Extraction mirrors the plugins (falcosecurity/plugins ``k8saudit/pkg/k8saudit/extract.go``
and ``json/pkg/json/json.go``):

* every value is a string; a non-string JSON value is rendered as compact JSON
  (``201``, ``true``, ``{"kind":"User","name":"bob"}``), a JSON ``null`` as ``"null"``;
* list fields give a Python ``list[str]``; a list with no element counts as absent,
  because libsinsp treats a plugin extraction with zero values as "not extracted";
* absent, or present with a type the plugin refuses (a scalar where it walks an
  array), gives ``None``: extraction never raises;
* ``ka.*`` fields are absent on an object without ``auditID``, as the plugin
  discards "unrelated JSON events";
* an ``[index]`` argument selects one element of every array met on the path
  (``ka.req.pod.containers.image[1]``, ``ka.req.role.rules.verbs[0]``).

Where the newest plugin source could not be read, the choice made is written on the field
(``ka.target.pod.name``, ``ka.cluster.name``, the ``eff_run_as_*`` fields).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final
from urllib.parse import parse_qs, urlsplit

import orjson

from detector.fields import evttime

Extractor = Callable[[Mapping[str, Any], str | None], Any | None]


@dataclass(frozen=True, slots=True)
class K8sFieldSpec:
    """One field of the ``k8s_audit`` source.

    ``arg`` is ``"none"``, ``"required"`` or ``"allowed"``; ``arg_kind`` says what the
    argument is (``"index"``: a non-negative integer, ``"key"``: any text) so the
    registry can validate it the way libsinsp does for plugin fields.
    """

    name: str
    type: str
    is_list: bool
    arg: str
    extract: Extractor
    description: str
    arg_kind: str = ""


_MISSING: Final = object()


# --- JSON helpers -------------------------------------------------------------------------


def _get(value: Any, key: str) -> Any:
    """fastjson's ``Get(key)``: object member, or array element when the key is a decimal index."""
    if type(value) is dict:
        return value.get(key, _MISSING)
    if type(value) is list and key.isdigit():
        idx = int(key)
        return value[idx] if idx < len(value) else _MISSING
    return _MISSING


def _path(value: Any, keys: Sequence[str]) -> Any:
    for key in keys:
        value = _get(value, key)
        if value is _MISSING:
            return _MISSING
    return value


def compact_json(value: Any) -> str:
    """Compact JSON text of a decoded value (what fastjson's ``MarshalTo`` writes)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        pass
    # Integers beyond 64 bits (kept exact by the reader) are refused by orjson.
    import json

    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return "<NA>"


def as_string(value: Any) -> str:
    """``jsonValueAsString``: strings as they are, anything else as compact JSON."""
    return value if type(value) is str else compact_json(value)


def _strings_skip_missing(values: Iterable[Any]) -> list[str] | None:
    out = [as_string(v) for v in values if v is not _MISSING]
    return out or None


def _strings_strict(values: Iterable[Any]) -> list[str] | None:
    out: list[str] = []
    for v in values:
        if v is _MISSING:
            return None
        out.append(as_string(v))
    return out or None


def parse_index(arg: str | None) -> int | None:
    """The index of an ``[n]`` argument, or ``None`` when there is none or it is not a non-negative integer."""
    if arg is None or not arg.isdigit():
        return None
    return int(arg)


def _collect(value: Any, index: int | None, keys: Sequence[str]) -> list[Any] | None:
    """``getValuesRecursive``: walk ``keys``, fanning out over every array met on the way.

    Without an index each element of an array continues the walk on its own and an
    element lacking the rest of the path contributes ``_MISSING``; with an index only
    that element continues.  ``None`` means the path is not available at all.  An
    empty key stands for "the value itself".
    """
    for i, key in enumerate(keys):
        if type(value) is list:
            if index is None:
                out: list[Any] = []
                for item in value:
                    sub = _collect(item, None, keys[i:])
                    if sub is None:
                        out.append(_MISSING)
                    else:
                        out.extend(sub)
                return out
            if index >= len(value):
                return None
            value = value[index]
        if key:
            value = _get(value, key)
            if value is _MISSING:
                return None
    return [value]


# --- extractor builders ----------------------------------------------------------------------


def _audit(fn: Extractor) -> Extractor:
    """Apply the plugin's guard: no ``auditID``, no ``ka.*`` field."""

    def extract(event: Mapping[str, Any], arg: str | None) -> Any | None:
        if type(event) is not dict or "auditID" not in event:
            return None
        return fn(event, arg)

    return extract


def _scalar(*keys: str) -> Extractor:
    """``extractFromKeys`` for a string field."""

    def extract(event: Mapping[str, Any], arg: str | None) -> str | None:
        value = _path(event, keys)
        return None if value is _MISSING else as_string(value)

    return _audit(extract)


def _list(*keys: str, indexed: bool = False) -> Extractor:
    """``extractFromKeys`` for a list field: the value must be an array; each element as a string."""

    def extract(event: Mapping[str, Any], arg: str | None) -> list[str] | None:
        value = _path(event, keys)
        if type(value) is not list:
            return None
        if indexed and arg is not None:
            idx = parse_index(arg)
            if idx is None or idx >= len(value):
                return None
            value = value[idx : idx + 1]
        return _strings_strict(value)

    return _audit(extract)


def _recursive(*keys: str, strict: bool = False) -> Extractor:
    """``getValuesRecursive`` plus ``arrayAsStringsSkipNil`` (or ``arrayAsStrings`` when ``strict``)."""

    def extract(event: Mapping[str, Any], arg: str | None) -> list[str] | None:
        index = parse_index(arg) if arg is not None else None
        if arg is not None and index is None:
            return None
        values = _collect(event, index, keys)
        if values is None:
            return None
        return _strings_strict(values) if strict else _strings_skip_missing(values)

    return _audit(extract)


def _flattened(*keys: str) -> Extractor:
    """``extractRulesField``: each value found must be an array; their string elements are concatenated."""

    def extract(event: Mapping[str, Any], arg: str | None) -> list[str] | None:
        index = parse_index(arg) if arg is not None else None
        if arg is not None and index is None:
            return None
        values = _collect(event, index, keys)
        if values is None:
            return None
        out: list[str] = []
        for v in values:
            if type(v) is list:
                out.extend(as_string(x) for x in v)
        return out or None

    return _audit(extract)


def _repository(image: str) -> str:
    # The plugin cuts at the first ':' then at the first '@' (so a registry port is cut too).
    return image.split(":", 1)[0].split("@", 1)[0]


def _images(kind: str, *, repository: bool, first_only: bool = False) -> Extractor:
    def extract(event: Mapping[str, Any], arg: str | None) -> Any | None:
        if first_only:
            index: int | None = 0
        else:
            index = parse_index(arg) if arg is not None else None
            if arg is not None and index is None:
                return None
        values = _collect(event, index, ("requestObject", "spec", kind, "image"))
        if values is None:
            return None
        images = _strings_strict(values)
        if images is None:
            return None
        if repository:
            images = [_repository(i) for i in images]
        return images[0] if first_only else images

    return _audit(extract)


def _host_ports(kind: str) -> Extractor:
    def extract(event: Mapping[str, Any], arg: str | None) -> list[str] | None:
        index = parse_index(arg) if arg is not None else None
        if arg is not None and index is None:
            return None
        per_container = _collect(event, index, ("requestObject", "spec", kind, "ports"))
        if per_container is None:
            return None
        out: list[str] = []
        for ports in per_container:
            if ports is _MISSING:
                continue
            if type(ports) is not list:
                return None
            for port in ports:
                host = _get(port, "hostPort")
                if host is not _MISSING:
                    out.append(as_string(host))
                    continue
                # With hostNetwork the container port is the host port.
                cport = _get(port, "containerPort")
                if cport is not _MISSING:
                    out.append(as_string(cport))
        return out or None

    return _audit(extract)


def _effective_id(kind: str, key: str) -> Extractor:
    """Per container: its securityContext ``key``, else the pod's, else ``"0"``.

    The plugin source read (8efcec33) looks the id up outside ``securityContext``,
    which the Kubernetes schema never fills; this follows the field's documented
    meaning ("combines information from both the pod and container security contexts").
    """

    def extract(event: Mapping[str, Any], arg: str | None) -> list[str] | None:
        index = parse_index(arg) if arg is not None else None
        if arg is not None and index is None:
            return None
        pod_value = _path(event, ("requestObject", "spec", "securityContext", key))
        default = "0" if pod_value is _MISSING else as_string(pod_value)
        values = _collect(event, index, ("requestObject", "spec", kind, "securityContext", key))
        if values is None:
            return None
        return [default if v is _MISSING else as_string(v) for v in values] or None

    return _audit(extract)


def _any_privileged(event: Mapping[str, Any], arg: str | None) -> str | None:
    values = _collect(event, None, ("requestObject", "spec", "containers", "securityContext", "privileged"))
    if values is None:
        return None
    return "true" if any(v is True for v in values) else "false"


def _volume_types(event: Mapping[str, Any], arg: str | None) -> list[str] | None:
    index = parse_index(arg) if arg is not None else None
    if arg is not None and index is None:
        return None
    volumes = _collect(event, index, ("requestObject", "spec", "volumes", ""))
    if volumes is None:
        return None
    out = [key for vol in volumes if type(vol) is dict for key in vol if key != "name"]
    return out or None


def _volume_hostpath_match(event: Mapping[str, Any], arg: str | None) -> str | None:
    """Deprecated ``ka.req.volume.hostpath[path]``: ``"true"`` when a hostPath volume equals ``path``
    (or starts with it, when ``path`` ends with ``*``)."""
    if not arg:
        return None
    values = _collect(event, None, ("requestObject", "spec", "volumes", "hostPath", "path"))
    if values is None:
        return None
    prefix = arg[:-1] if arg.endswith("*") else None
    for path in _strings_skip_missing(values) or ():
        if path == arg or (prefix is not None and path.startswith(prefix)):
            return "true"
    return "false"


def _uri_param(event: Mapping[str, Any], arg: str | None) -> str | None:
    uri = event.get("requestURI", _MISSING)
    if uri is _MISSING or arg is None:
        return None
    try:
        query = urlsplit(as_string(uri)).query
        values = parse_qs(query, keep_blank_values=True)
    except ValueError:
        return None
    found = values.get(arg)
    return found[0] if found else None


def _subjects(kind: str, *, with_namespace: bool = False) -> Extractor:
    def extract(event: Mapping[str, Any], arg: str | None) -> list[str] | None:
        subjects = _path(event, ("requestObject", "subjects"))
        if type(subjects) is not list:
            return None
        out: list[str] = []
        for subject in subjects:
            if type(subject) is not dict or subject.get("kind") != kind or "name" not in subject:
                continue
            name = as_string(subject["name"])
            if with_namespace:
                ns = subject.get("namespace")
                name = f"{'' if ns is None else as_string(ns)}:{name}"
            out.append(name)
        return out or None

    return _audit(extract)


def _target_pod_name(event: Mapping[str, Any], arg: str | None) -> str | None:
    # The plugin's implementation was not readable; the target pod is the target object when it is a pod.
    if _path(event, ("objectRef", "resource")) != "pods":
        return None
    name = _path(event, ("objectRef", "name"))
    return None if name is _MISSING else as_string(name)


def _cluster_name(event: Mapping[str, Any], arg: str | None) -> str | None:
    # Audit events carry no cluster name; the plugin fills it from its own configuration.
    return None


def _binding_has_name(event: Mapping[str, Any], arg: str | None) -> str | None:
    # Documented as "N/A" but the plugin returns "true", as the original implementation did.
    return "true"


# --- json plugin -------------------------------------------------------------------------------


def json_pointer(event: Any, pointer: str | None) -> Any:
    """Walk an RFC 6901 pointer the way the json plugin does (no ``-``, decimal array indices)."""
    if not pointer:
        return _MISSING
    if pointer[0] == "/":
        pointer = pointer[1:]
    value = event
    for token in pointer.split("/"):
        value = _get(value, token.replace("~1", "/").replace("~0", "~"))
        if value is _MISSING:
            return _MISSING
    return value


def _json_value(event: Mapping[str, Any], arg: str | None) -> str | None:
    value = json_pointer(event, arg)
    return None if value is _MISSING else as_string(value)


def _json_obj(event: Mapping[str, Any], arg: str | None) -> str | None:
    import json

    # Go's json.Indent with a two-space indent: one member per line, ": " after keys.
    try:
        return json.dumps(event, indent=2, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        return None


def event_time_ns(event: Any) -> int | None:
    """The timestamp the k8saudit plugin gives the event: ``stageTimestamp`` in nanoseconds.

    The plugin rejects an event without it; here ``requestReceivedTimestamp`` and then the
    v1beta1 ``timestamp`` are tried before giving up, so a hand-written event still has a time.
    A flat field map (a Falco alert's ``output_fields``) gives its ``evt.rawtime``/``evt.time``
    nanoseconds instead.
    """
    if type(event) is not dict:
        return None
    if "auditID" not in event:
        for key in ("evt.rawtime", "evt.time", "jevt.rawtime", "json.rawtime"):
            value = event.get(key)
            if type(value) is int and value >= 0:
                return value
            if type(value) is str and value.isdigit():
                return int(value)
    for key in ("stageTimestamp", "requestReceivedTimestamp", "timestamp"):
        ns = evttime.parse_rfc3339_ns(event.get(key))
        if ns is not None:
            return ns
    return None


def _json_rawtime(event: Mapping[str, Any], arg: str | None) -> str | None:
    ns = event_time_ns(event)
    return None if ns is None else str(ns)


def _timed(fn: Callable[[int], str | int | None]) -> Extractor:
    def extract(event: Mapping[str, Any], arg: str | None) -> Any | None:
        ns = event_time_ns(event)
        return None if ns is None else fn(ns)

    return extract


def _constant(value: str) -> Extractor:
    def extract(event: Mapping[str, Any], arg: str | None) -> str:
        return value

    return extract


# --- the table ---------------------------------------------------------------------------------


def _flat_aware(name: str, fn: Extractor) -> Extractor:
    """Also read a flat field map, such as the ``output_fields`` of a Falco ``k8s_audit`` alert.

    A native audit event always has ``auditID``; anything else is first looked up by the
    field's written form (``ka.user.name``, ``jevt.value[/verb]``) before the native walk.
    """

    def extract(event: Mapping[str, Any], arg: str | None) -> Any | None:
        if type(event) is not dict:
            return None
        if "auditID" not in event:
            value = event.get(name if arg is None else f"{name}[{arg}]")
            if value is not None:
                return value
        return fn(event, arg)

    return extract


def _f(name: str, extract: Extractor, description: str, *, is_list: bool = False, arg: str = "none",
       arg_kind: str = "", type: str = "string", flat: bool = True) -> K8sFieldSpec:
    if flat:
        extract = _flat_aware(name, extract)
    return K8sFieldSpec(name, type, is_list, arg, extract, description, arg_kind)


def _tf(name: str, extract: Extractor, description: str, *, type: str = "string") -> K8sFieldSpec:
    # Time fields: a flat map's evt.time holds nanoseconds while the field is the formatted text,
    # so they always go through event_time_ns instead of the flat lookup.
    return _f(name, extract, description, type=type, flat=False)


def _idx(name: str, extract: Extractor, description: str) -> K8sFieldSpec:
    return _f(name, extract, description, is_list=True, arg="allowed", arg_kind="index")


def _container_fields(kind: str, label: str) -> list[K8sFieldSpec]:
    p = f"ka.req.pod.{kind}"
    sc = ("requestObject", "spec", kind, "securityContext")
    fields = [
        _idx(f"{p}.name", _recursive("requestObject", "spec", kind, "name"),
             f"When the request object refers to a pod, the {label} names."),
        _idx(f"{p}.image", _images(kind, repository=False),
             f"When the request object refers to a pod, the {label} images."),
        _idx(f"{p}.image.repository", _images(kind, repository=True),
             f"The {label} images, only the repository part (e.g. falcosecurity/falco)."),
        _idx(f"{p}.command", _recursive("requestObject", "spec", kind, "command"),
             f"When the request object refers to a pod, the {label} commands."),
        _idx(f"{p}.args", _recursive("requestObject", "spec", kind, "args"),
             f"When the request object refers to a pod, the {label} args."),
        _idx(f"{p}.host_port", _host_ports(kind),
             f"When the request object refers to a pod, all {label} hostPort values."),
        _idx(f"{p}.privileged", _recursive(*sc, "privileged"),
             f"When the request object refers to a pod, the value of the privileged flag for all {label}."),
        _idx(f"{p}.allow_privilege_escalation", _recursive(*sc, "allowPrivilegeEscalation"),
             f"When the request object refers to a pod, the value of the allowPrivilegeEscalation flag for all {label}."),
        _idx(f"{p}.read_only_fs", _recursive(*sc, "readOnlyRootFilesystem"),
             f"When the request object refers to a pod, the value of the readOnlyRootFilesystem flag for all {label}."),
        _idx(f"{p}.run_as_user", _recursive(*sc, "runAsUser"),
             f"When the request object refers to a pod, the runAsUser uid for all {label}."),
        _idx(f"{p}.eff_run_as_user", _effective_id(kind, "runAsUser"),
             f"When the request object refers to a pod, the initial uid that will be used for all {label}."),
        _idx(f"{p}.run_as_group", _recursive(*sc, "runAsGroup"),
             f"When the request object refers to a pod, the runAsGroup gid for all {label}."),
        _idx(f"{p}.eff_run_as_group", _effective_id(kind, "runAsGroup"),
             f"When the request object refers to a pod, the initial gid that will be used for all {label}."),
        _idx(f"{p}.proc_mount", _recursive(*sc, "procMount"),
             f"When the request object refers to a pod, the procMount types for all {label}."),
        _idx(f"{p}.add_capabilities", _recursive(*sc, "capabilities", "add"),
             f"When the request object refers to a pod, all capabilities to add when running the {label}."),
    ]
    # Ephemeral containers may not declare ports, and the plugin has no field for them.
    return [f for f in fields if not (kind == "ephemeralContainers" and f.name.endswith(".host_port"))]


def _build() -> dict[str, K8sFieldSpec]:
    ann = "annotations"
    spec = ("requestObject", "spec")
    fields: list[K8sFieldSpec] = [
        _f("ka.auditid", _scalar("auditID"), "The unique id of the audit event"),
        _f("ka.stage", _scalar("stage"), "Stage of the request (e.g. RequestReceived, ResponseComplete, etc.)"),
        _f("ka.auth.decision", _scalar(ann, "authorization.k8s.io/decision"), "The authorization decision"),
        _f("ka.auth.reason", _scalar(ann, "authorization.k8s.io/reason"), "The authorization reason"),
        _f("ka.auth.openshift.decision", _scalar(ann, "authentication.openshift.io/decision"),
           "The authentication decision of the openshift apiserver extension"),
        _f("ka.auth.openshift.username", _scalar(ann, "authentication.openshift.io/username"),
           "The user name performing the openshift authentication operation"),
        _f("ka.validations.admission.policy.failure",
           _scalar(ann, "validation.policy.admission.k8s.io/validation_failure"),
           "The validation failure reason from a Validation Admission Policy"),
        _f("ka.security.pod.violations", _scalar(ann, "pod-security.kubernetes.io/audit-violations"),
           "The violation reason for pod security policy"),
        _f("ka.user.name", _scalar("user", "username"), "The user name performing the request"),
        _f("ka.user.groups", _list("user", "groups"), "The groups to which the user belongs", is_list=True),
        _f("ka.impuser.name", _scalar("impersonatedUser", "username"), "The impersonated user name"),
        _f("ka.verb", _scalar("verb"), "The action being performed"),
        _f("ka.uri", _scalar("requestURI"), "The request URI as sent from client to server"),
        _f("ka.uri.param", _audit(_uri_param),
           "The value of a given query parameter in the uri (e.g. when uri=/foo?key=val, ka.uri.param[key] is val).",
           arg="required", arg_kind="key"),
        _f("ka.target.name", _scalar("objectRef", "name"), "The target object name"),
        _f("ka.target.namespace", _scalar("objectRef", "namespace"), "The target object namespace"),
        _f("ka.target.resource", _scalar("objectRef", "resource"), "The target object resource"),
        _f("ka.target.subresource", _scalar("objectRef", "subresource"), "The target object subresource"),
        _f("ka.target.pod.name", _audit(_target_pod_name), "The target pod name"),
        _f("ka.req.binding.subjects", _list("requestObject", "subjects"),
           "When the request object refers to a cluster role binding, the subject (e.g. account/users) being linked by the binding",
           is_list=True),
        _f("ka.req.binding.subjects.user_names", _subjects("User"),
           "When the request object refers to a cluster role binding, the subject user names being linked by the binding",
           is_list=True),
        _f("ka.req.binding.subjects.serviceaccount_names", _subjects("ServiceAccount"),
           "When the request object refers to a cluster role binding, the subject service account names being linked by the binding",
           is_list=True),
        _f("ka.req.binding.subjects.serviceaccount_ns_names", _subjects("ServiceAccount", with_namespace=True),
           "When the request object refers to a cluster role binding, the subject serviceaccount namespaced names "
           "being linked by the binding, e.g. a list containing: mynamespace:myserviceaccount",
           is_list=True),
        _f("ka.req.binding.subjects.group_names", _subjects("Group"),
           "When the request object refers to a cluster role binding, the subject group names being linked by the binding",
           is_list=True),
        _f("ka.req.binding.role", _scalar("requestObject", "roleRef", "name"),
           "When the request object refers to a cluster role binding, the role being linked by the binding"),
        _f("ka.req.binding.subject.has_name", _audit(_binding_has_name),
           'Deprecated, always returns "N/A". Only provided for backwards compatibility',
           arg="required", arg_kind="key"),
        _f("ka.req.configmap.name", _scalar("objectRef", "name"),
           "If the request object refers to a configmap, the configmap name"),
        _f("ka.req.configmap.obj", _scalar("requestObject", "data"),
           "If the request object refers to a configmap, the entire configmap object"),
        _f("ka.req.container.image", _images("containers", repository=False, first_only=True),
           "Deprecated by ka.req.pod.containers.image. Returns the image of the first container only"),
        _f("ka.req.container.image.repository", _images("containers", repository=True, first_only=True),
           "Deprecated by ka.req.pod.containers.image.repository. Returns the repository of the first container only"),
        _f("ka.req.pod.host_ipc", _scalar(*spec, "hostIPC"),
           "When the request object refers to a pod, the value of the hostIPC flag."),
        _f("ka.req.pod.host_network", _scalar(*spec, "hostNetwork"),
           "When the request object refers to a pod, the value of the hostNetwork flag."),
        _f("ka.req.container.host_network", _scalar(*spec, "hostNetwork"),
           "Deprecated alias for ka.req.pod.host_network"),
        _f("ka.req.pod.host_pid", _scalar(*spec, "hostPID"),
           "When the request object refers to a pod, the value of the hostPID flag."),
        _f("ka.req.container.privileged", _audit(_any_privileged),
           "Deprecated by ka.req.pod.containers.privileged. Returns true if any container has privileged=true"),
        _f("ka.req.pod.run_as_user", _scalar(*spec, "securityContext", "runAsUser"),
           "When the request object refers to a pod, the runAsUser uid specified in the security context for the pod."),
        _f("ka.req.pod.run_as_group", _scalar(*spec, "securityContext", "runAsGroup"),
           "When the request object refers to a pod, the runAsGroup gid specified in the security context for the pod."),
        _f("ka.req.role.rules", _list("requestObject", "rules"),
           "When the request object refers to a role/cluster role, the rules associated with the role", is_list=True),
        _idx("ka.req.role.rules.apiGroups", _flattened("requestObject", "rules", "apiGroups"),
             "When the request object refers to a role/cluster role, the api groups associated with the role's rules"),
        _idx("ka.req.role.rules.nonResourceURLs", _flattened("requestObject", "rules", "nonResourceURLs"),
             "When the request object refers to a role/cluster role, the non resource urls associated with the role's rules"),
        _idx("ka.req.role.rules.verbs", _flattened("requestObject", "rules", "verbs"),
             "When the request object refers to a role/cluster role, the verbs associated with the role's rules"),
        _idx("ka.req.role.rules.resources", _flattened("requestObject", "rules", "resources"),
             "When the request object refers to a role/cluster role, the resources associated with the role's rules"),
        _f("ka.req.pod.fs_group", _scalar(*spec, "securityContext", "fsGroup"),
           "When the request object refers to a pod, the fsGroup gid specified by the security context."),
        _f("ka.req.pod.supplemental_groups", _list(*spec, "securityContext", "supplementalGroups"),
           "When the request object refers to a pod, the supplementalGroup gids specified by the security context.",
           is_list=True),
        _f("ka.req.service.type", _scalar(*spec, "type"),
           "When the request object refers to a service, the service type"),
        _f("ka.req.service.ports", _list(*spec, "ports", indexed=True),
           "When the request object refers to a service, the service's ports",
           is_list=True, arg="allowed", arg_kind="index"),
        _idx("ka.req.pod.volumes.hostpath", _recursive(*spec, "volumes", "hostPath", "path"),
             "When the request object refers to a pod, all hostPath paths specified for all volumes"),
        _f("ka.req.volume.hostpath", _audit(_volume_hostpath_match),
           "Deprecated by ka.req.pod.volumes.hostpath. Return true if the provided (host) path prefix is used by any volume",
           arg="required", arg_kind="key"),
        _idx("ka.req.pod.volumes.flexvolume_driver", _recursive(*spec, "volumes", "flexVolume", "driver"),
             "When the request object refers to a pod, all flexvolume drivers specified for all volumes"),
        _idx("ka.req.pod.volumes.volume_type", _audit(_volume_types),
             "When the request object refers to a pod, all volume types for all volumes"),
        _f("ka.resp.name", _scalar("responseObject", "metadata", "name"), "The response object name"),
        _f("ka.response.code", _scalar("responseStatus", "code"), "The response code"),
        _f("ka.response.reason", _scalar("responseStatus", "reason"),
           "The response reason (usually present only for failures)"),
        _f("ka.useragent", _scalar("userAgent"), "The useragent of the client who made the request to the apiserver"),
        _f("ka.sourceips", _list("sourceIPs", indexed=True),
           "The IP addresses of the client who made the request to the apiserver",
           is_list=True, arg="allowed", arg_kind="index"),
        _f("ka.cluster.name", _audit(_cluster_name), "The name of the k8s cluster"),
    ]
    fields += _container_fields("containers", "containers")
    fields += _container_fields("initContainers", "init containers")
    fields += _container_fields("ephemeralContainers", "ephemeral containers")

    for prefix in ("json", "jevt"):
        fields += [
            _f(f"{prefix}.value", _json_value,
               f"Extracts a value from a JSON-encoded input. Syntax is {prefix}.value[<json pointer>]",
               arg="required", arg_kind="key"),
            _f(f"{prefix}.obj", _json_obj, "The full json message as a text string."),
            _f(f"{prefix}.rawtime", _json_rawtime, "The time of the event, identical to evt.rawtime."),
        ]
    # Legacy names of Falco's built-in json event checks, still found in old rules files.
    fields += [
        _tf("jevt.time", _timed(evttime.format_time), "The event timestamp as a time string with nanoseconds"),
        _tf("jevt.time.iso8601", _timed(evttime.format_iso8601), "The event timestamp in ISO 8601 format"),
    ]
    # libsinsp's generic fields of every plugin event; the output prefix needs %evt.time.
    fields += [
        _tf("evt.time", _timed(evttime.format_time),
            "event timestamp as a time string that includes the nanosecond part."),
        _tf("evt.time.s", _timed(evttime.format_time_s), "event timestamp as a time string with no nanoseconds."),
        _tf("evt.time.iso8601", _timed(evttime.format_iso8601),
            "event timestamp in ISO 8601 format, including nanoseconds and time zone offset (in UTC)."),
        _tf("evt.datetime", _timed(evttime.format_datetime),
            "event timestamp as a time string that includes the date."),
        _tf("evt.datetime.s", _timed(evttime.format_datetime_s),
            "event timestamp as a datetime string with no nanoseconds."),
        _tf("evt.rawtime", _timed(lambda ns: ns), "absolute event timestamp, i.e. nanoseconds from epoch.",
            type="abstime"),
        _tf("evt.rawtime.s", _timed(lambda ns: ns // evttime.NS_PER_S),
            "integer part of the event timestamp (e.g. seconds since epoch).", type="abstime"),
        _tf("evt.rawtime.ns", _timed(lambda ns: ns % evttime.NS_PER_S),
            "fractional part of the absolute event timestamp.", type="abstime"),
        _f("evt.source", _constant("k8s_audit"), "the name of the source that produced the event."),
        _f("evt.pluginname", _constant("k8saudit"), "the name of the plugin that generated the event."),
    ]
    table = {spec_.name: spec_ for spec_ in fields}
    assert len(table) == len(fields), "duplicate field name in the k8s_audit table"
    return table


K8S_AUDIT_FIELDS: Final[Mapping[str, K8sFieldSpec]] = MappingProxyType(_build())
