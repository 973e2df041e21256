"""Deciding from the raw line whether a syscall event can match any rule.

The JSON-lines reader (``detector.sources.jsonlines``) decodes each ASCII
line with the prefilter's ``decode``: one msgspec decoder over a tagged union
of structs, one struct class per event type seen so far, chosen by the line's
own ``evt.type`` (msgspec reads the tag wherever it is in the object, in the
same pass).  A class holds only the fields its type's rules need (plus the
keys that would make the line something other than a flat syscall event,
declared so that their presence is a decoding error) and its ``check()`` runs
a function generated for struct access (``generate_bucket(struct=...)``): zero
means no rule can match; a positive value is the exact mask of the rules that
match (every rule of the type was evaluated on the struct: a rule needing a
field the struct lacks raises instead), which the reader passes on so that the
engine does not evaluate the line again; -1 means "decode it in full and see".  For a type no rule can match the struct holds no
field and ``check()`` is zero.  A line of a type not seen before fails to
decode; the reader then finds ``"evt.type":"<name>"`` in the raw bytes and asks
for a plan for that type (``plan``), which adds a class to the union.  For the others a ``_Trainer`` first learns, on the first lines of
the type, which table lookups ("dimensions", see ``detector.codegen.bucket``)
reject most lines, and the final plan decodes just their fields (and those of
rules left often).  A line no rule can match is counted and dropped without
ever being decoded in full; a line some rule may match, or one the plan
cannot handle exactly, goes through the reader's full path and the engine's
``process`` as before.

Exactness: a struct field declared with the field's own type (``str``,
``bool``, an integer range) makes msgspec refuse any other JSON value, which
sends the line to the full path; every other field is declared as a JSON
scalar and typed by the generated code as the full path would.  Duplicate
keys keep the last value in both decoders; a duplicated ``evt.type`` with
another value fails the tag check, so such a line takes the full path.  Lines that are not pure ASCII
take the full path (msgspec does not check UTF-8 inside values it skips).

Bounded: at most ``max_plans`` event types get a plan (and a class in the union);
others take the full path.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Union

import msgspec

from detector.codegen.bucket import bucket_dimensions, bucket_fields, generate_bucket
from detector.codegen.generate import FieldNotDecoded, StructLayout, struct_exact
from detector.engine.buckets import BucketCache, compile_source
from detector.fields.registry import BoundField
from detector.fields.types import FieldType, int_range

DEFAULT_MAX_PLANS = 1024
DEFAULT_MEMO_LIMIT = 16384  # entries per plan's memo (``MemoCheck``)
# Keys whose presence makes a line an alert, an audit event or another source's event.
GUARD_KEYS = ("source", "kind", "apiVersion", "rule")
_RAW = str | int | float | bool | None
_MEMO_KEY = str | int | None
_PROBE_VALUES: tuple[Any, ...] = (None, "1")
_INT64_MAX = (1 << 63) - 1
# A derived field reading more keys than this is not given struct fields (each costs decoding time).
_MAX_DERIVED_KEYS = 4


NeedFullEvent = FieldNotDecoded  # a field the struct lacks was needed: the line takes the full path


@dataclass(frozen=True, slots=True)
class LinePlan:
    """What to do with lines of one event type (several types may share a plan): decode them
    into ``base`` (untagged; the union holds a tagged subclass per type) and run ``evaluate``.
    ``evaluate`` is ``None`` when no rule of the type can match (the line is only validated);
    otherwise its mask is non-zero when some rule may match."""

    base: type
    evaluate: Callable[[Any], int] | None
    python_source: str = ""
    memo: MemoCheck | None = None


# The exceptions that send a line to the full path.
ERRORS: tuple[type[BaseException], ...] = (msgspec.DecodeError, UnicodeDecodeError, RecursionError, NeedFullEvent)


def _never(event: Any) -> int:
    return 0


def _always(event: Any) -> int:
    return -1  # every bit: "some rule may match, the full path decides"


def _declared_type(bound: BoundField) -> Any:
    """The msgspec type that holds exactly the field's typed value, or ``None`` (raw scalar)."""
    if not struct_exact(bound):
        return None
    if bound.loader.native is str:
        return str | None
    if bound.loader.native is bool:
        return bool | None
    bounds = int_range(bound.type)
    assert bounds is not None
    low, high = bounds
    if high > _INT64_MAX:
        return None  # msgspec bounds stop at int64: typed by the generated code instead
    return Annotated[int, msgspec.Meta(ge=low, le=high)] | None


class _Recorder(dict[str, Any]):
    """A mapping that notes every key read through ``get`` (to learn what a derived field reads)."""

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.value = value
        self.seen: list[str] = []

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.append(key)
        return self.value


def derived_keys(bound: BoundField) -> tuple[str, ...]:
    """Keys a derived field reads, found by running it on recording events (a key it reads only
    in other circumstances is caught at run time: ``NeedFullEvent``)."""
    assert bound.loader.fn is not None
    keys: dict[str, None] = {}
    for value in _PROBE_VALUES:
        recorder = _Recorder(value)
        try:
            bound.loader.fn(recorder)
        except Exception:  # noqa: BLE001 - probing only; what it read so far still counts
            pass
        keys.update(dict.fromkeys(recorder.seen))
    return tuple(keys)


def struct_class(name: str, fields: Sequence[BoundField]) -> tuple[type, StructLayout]:
    """An (untagged) msgspec struct for lines of one type: the fields and the guard keys.  The
    tagged subclasses (``tagged``) add ``evt.type``, and ``t``, a class attribute holding it."""
    plain: dict[str, BoundField] = {}
    raw: set[str] = set()
    derived_only: set[str] = set()  # keys only derived fields read: declared ``str | int | None``
    derived: dict[str, tuple[str, ...]] = {}
    mixed: set[str] = set()  # keys declared as any JSON scalar (1, 1.0 and true compare equal)
    for bound in fields:
        if bound.loader.kind == "plain":
            key = bound.loader.key
            declared = _declared_type(bound)
            if declared is None or (key in plain and _declared_type(plain[key]) != declared):
                raw.add(key)
            plain.setdefault(key, bound)
            derived_only.discard(key)
    for bound in fields:
        if bound.loader.kind == "plain":
            continue
        keys = derived_keys(bound)
        if len(keys) > _MAX_DERIVED_KEYS:
            continue  # (``proc.aname``: every ancestor) read through ``get``: needs the full event
        for key in keys:
            if key not in plain:
                plain[key] = bound
                raw.add(key)
                derived_only.add(key)
        derived[bound.key] = keys
    attrs: dict[str, str] = {"evt.type": "t"}
    spec: list[tuple[str, Any, Any]] = []
    for i, (key, bound) in enumerate(plain.items()):
        if key == "evt.type" or key in GUARD_KEYS:
            continue
        attr = f"f{i}"
        attrs[key] = attr
        if key in derived_only:
            declared = _MEMO_KEY
        elif key in raw:
            # Typed by the generated code; JSON floats and booleans (which the full path may
            # treat otherwise) make the line take the full path, except for double fields.
            declared = _RAW if bound.type is FieldType.DOUBLE else _MEMO_KEY
            if declared is _RAW:
                mixed.add(key)
        else:
            declared = _declared_type(bound)
        assert declared is not None
        spec.append((attr, declared, msgspec.field(name=key, default=None)))
    for i, key in enumerate(GUARD_KEYS):
        spec.append((f"g{i}", msgspec.UnsetType, msgspec.field(name=key, default=msgspec.UNSET)))
    raw.discard("evt.type")  # declared str: its typed value is itself
    # A memo key must not mix values that compare equal across types (1, 1.0, True): every key
    # it reads must be declared with one of str, int, bool (and null) at most.
    memo = {field_key: tuple(attrs[k] for k in keys) for field_key, keys in derived.items()
            if keys and all(k in attrs and k not in mixed for k in keys)}
    layout = StructLayout(attrs, frozenset(raw), memo)

    def get(self: Any, key: str, default: Any = None) -> Any:
        attr = attrs.get(key)
        if attr is None:
            raise NeedFullEvent(key)
        return getattr(self, attr)

    # Frozen: a struct is then hashable, and equal to another only when of the same class with
    # equal fields, which makes it its own key in ``MemoCheck``; safe only when no field may hold
    # values of different types that compare equal.
    memo_safe = not mixed
    cls = msgspec.defstruct(name, spec, kw_only=True, gc=False, frozen=True,
                            namespace={"get": get, "memo_safe": memo_safe})
    return cls, layout


class MemoCheck:
    """A plan's mask memoised on the decoded struct.

    A plan's function is pure over the struct's fields (a field it lacks raises, and does so for
    every equal struct: kept as -1, decode in full), and node streams repeat: the same process
    opens the same files again and again.  So equal structs get the mask computed for the first
    of them: the key is the struct itself (frozen: hashed and compared in C).  Bounded by
    ``limit`` entries (then cleared, counted in ``resets``).  When, over ``TRIAL`` lines, fewer
    than ``MIN_HIT_SHARE`` of them were found (a type whose lines carry a new event number or
    client port each time), memoising stops for the plan and the function runs directly.
    """

    TRIAL = 4096
    MIN_HIT_SHARE = 0.5

    def __init__(self, evaluate: Callable[[Any], int], limit: int) -> None:
        self.evaluate = evaluate
        self.limit = limit
        self.table: dict[Any, int] = {}
        self.misses = self.resets = 0
        self.enabled = True
        self.classes: list[type] = []  # the struct classes whose ``check`` this is
        self._check: Callable[[Any], int] | None = None
        self._calls: Callable[[], int] = lambda: 0

    def function(self) -> Callable[[Any], int]:
        """The check to install as a struct method (one closure: the hot path is a lookup)."""
        table = self.table
        lookup = table.get
        evaluate = self.evaluate
        limit = self.limit
        memo = self
        trial = self.TRIAL
        poor = 1 - self.MIN_HIT_SHARE
        calls = 0
        trial_misses = 0  # -1 once the trial has passed

        def check(event: Any) -> int:
            nonlocal calls, trial_misses
            calls += 1
            found = lookup(event)
            if found is not None:
                return found
            try:
                mask = evaluate(event)
            except NeedFullEvent:
                mask = -1  # as pure as a mask: an equal struct lacks the same field
            memo.misses += 1
            if len(table) >= limit:
                table.clear()
                memo.resets += 1
            table[event] = mask
            if trial_misses >= 0:
                trial_misses += 1
                if calls >= trial:
                    if trial_misses <= poor * calls:
                        trial_misses = -1  # it pays
                    else:
                        memo.disable()
            return mask

        def calls_so_far() -> int:
            return calls

        self._calls = calls_so_far
        return check

    @property
    def check(self) -> Callable[[Any], int]:
        if self._check is None:
            self._check = self.function()
        return self._check

    def disable(self) -> None:
        self.enabled = False
        self.table.clear()
        for cls in self.classes:
            cls.check = self.evaluate  # type: ignore[attr-defined]

    def stats(self) -> dict[str, Any]:
        calls = self._calls()
        return {"entries": len(self.table), "limit": self.limit, "lines": calls,
                "hits": calls - self.misses if self.enabled else None, "resets": self.resets,
                "enabled": self.enabled}


def tagged(plan: LinePlan | None, evttype: str) -> type:
    """The union member for lines of ``evttype``: ``check()`` is the plan's mask (zero: no rule
    can match), always non-zero for a type whose lines take the full path (``plan`` None)."""
    base = _FULL_PATH_BASE if plan is None else plan.base
    check = _always if plan is None else plan.evaluate or _never
    memo = None if plan is None else plan.memo
    if memo is not None and memo.enabled:
        check = memo.check
    cls = msgspec.defstruct(f"{base.__name__}_{evttype}", [], bases=(base,), tag_field="evt.type",
                            tag=evttype, kw_only=True, gc=False, frozen=True,
                            namespace={"t": evttype, "check": check})
    if memo is not None:
        memo.classes.append(cls)
    return cls


_FULL_PATH_BASE, _ = struct_class("FullPath", ())


class _Trainer:
    """Learns, from the first lines of a type, which lookups reject most of them.

    While training, the plan decodes each line with all candidate lookup fields, records every
    dimension's mask (``generate_bucket(mode="probe")``) and sends the line to the full path.
    Then it keeps, greedily, the dimensions that reject the most sampled lines not already
    rejected, while each rejects at least ``MIN_GAIN`` of them, and builds the final plan: a
    struct of just those fields and a function of just those lookups.  When they would reject
    too little, lines of the type keep taking the full path.
    """

    SAMPLES = 256
    MAX_DIMENSIONS = 12
    # Rough costs in microseconds (measured on the benchmark machine): what the choice weighs.
    DECODE_COST = 1.2
    FIELD_COST = 0.06
    LOOKUP_COST = 0.1
    RULE_COST = 0.6
    FULL_PATH_COST = 8.0
    HOT_SHARE = 0.05

    def __init__(self, owner: LinePrefilter, name: str, folded: Sequence[Any],
                 dims: Sequence[tuple[tuple[str, ...], tuple[BoundField, ...]]]) -> None:
        self.owner = owner
        self.name = name
        self.folded = folded
        self.dims = list(dims)
        self.raw_types: dict[bytes, str] = {}
        fields = [b for _, bounds in self.dims for b in bounds]
        cls, layout = struct_class(f"{name}_probe", fields)
        code = generate_bucket(folded, struct=layout, mode="probe", order=[k for k, _ in self.dims],
                               ids=owner.check_ids)
        self.probe = compile_source(code.source, code.namespace, code.name)
        trainer = self

        def evaluate(event: Any) -> int:  # a plain function: the struct classes call it as a method
            return trainer.evaluate(event)

        self.training = LinePlan(cls, evaluate)
        self.samples: list[tuple[int, ...]] = []
        self.final: LinePlan | None = None
        self.done = False

    def plan_for(self, raw_type: bytes, evttype: str) -> LinePlan | None:
        if self.done:
            return self.final
        self.raw_types[raw_type] = evttype
        return self.training

    def evaluate(self, event: Any) -> int:
        if not self.done:
            self.samples.append(self.probe(event))
            if len(self.samples) >= self.SAMPLES:
                self.finish()
        return -1  # the full path decides

    def choose(self) -> tuple[list[int], int, float]:
        """Dimensions in evaluation order, the rules worth giving fields (a mask), and the
        estimated cost per line of that plan.

        Greedily the dimension rejecting the most sampled lines still possible (then the one
        removing the most rules); cut where the estimated cost per line is lowest: decoding the
        fields, the lookups, evaluating the rules often left (``HOT_SHARE`` of the lines or
        more: their fields are decoded too), and the full path for lines where another rule is
        left."""
        total = len(self.samples)
        everyone = sum(1 << i for i, root in enumerate(self.folded) if not isinstance(root, bool))
        alive = [everyone] * total
        order: list[int] = []
        states = [list(alive)]
        while len(order) < min(self.MAX_DIMENSIONS, len(self.dims)):
            best, best_score = -1, (0, 0)
            for j in range(len(self.dims)):
                if j in order:
                    continue
                gain = removed = 0
                for a, sample in zip(alive, self.samples, strict=True):
                    if a:
                        kept = a & sample[j]
                        gain += not kept
                        removed += (a & ~kept).bit_count()
                if (gain, removed) > best_score:
                    best, best_score = j, (gain, removed)
            if best < 0:
                break
            order.append(best)
            alive = [a & sample[best] for a, sample in zip(alive, self.samples, strict=True)]
            states.append(alive)
        best_plan: tuple[list[int], int, float] = ([], 0, self.FULL_PATH_COST)
        dim_fields: set[str] = set()
        for k in range(len(order) + 1):
            if k:
                dim_fields.update(b.key for b in self.dims[order[k - 1]][1])
            left = states[k]
            counts = [0] * len(self.folded)
            for a in left:
                while a:
                    low = a & -a
                    counts[low.bit_length() - 1] += 1
                    a ^= low
            hot = sum(1 << i for i, n in enumerate(counts) if n >= self.HOT_SHARE * total)
            fields = set(dim_fields)
            for i in range(len(self.folded)):
                if hot >> i & 1:
                    fields.update(b.key for b in bucket_fields([self.folded[i]]))
            cold = sum(1 for a in left if a & ~hot) / total
            cost = (self.DECODE_COST + self.FIELD_COST * len(fields) + self.LOOKUP_COST * k
                    + self.RULE_COST * sum(counts[i] for i in range(len(counts)) if hot >> i & 1) / total
                    + cold * self.FULL_PATH_COST)
            if cost < best_plan[2]:
                best_plan = (order[:k], hot, cost)
        return best_plan

    def finish(self) -> None:
        self.done = True
        chosen, hot, _ = self.choose()
        if chosen or hot:
            keys = [self.dims[j][0] for j in chosen]
            fields = [b for j in chosen for b in self.dims[j][1]]
            fields.extend(bucket_fields([r for i, r in enumerate(self.folded) if hot >> i & 1]))
            cls, layout = struct_class(self.name, fields)
            code = generate_bucket(self.folded, struct=layout, mode="full", order=keys, ids=self.owner.check_ids)
            evaluate = compile_source(code.source, code.namespace, code.name)
            memo = None
            if getattr(cls, "memo_safe", False):
                memo = MemoCheck(evaluate, self.owner.memo_limit)
            self.final = LinePlan(cls, evaluate, code.source, memo)
        self.samples = []
        for raw_type, evttype in self.raw_types.items():
            self.owner.settle(raw_type, evttype, self.final)
        self.raw_types = {}


class LinePrefilter:
    """Plans per event type for one engine's syscall rules (see the module docstring)."""

    def __init__(self, cache: BucketCache[Any], *, max_plans: int = DEFAULT_MAX_PLANS,
                 memo_limit: int = DEFAULT_MEMO_LIMIT) -> None:
        self._cache = cache
        self._folder = cache.folder
        self.check_ids = cache.folder.check_ids
        self.max_plans = max_plans
        self.memo_limit = memo_limit
        self.plans: dict[bytes, LinePlan | None] = {}
        self.errors = ERRORS
        self._by_signature: dict[Any, _Trainer | LinePlan | None] = {}
        self._skip: LinePlan | None = None
        self._members: dict[str, type] = {}
        self._decode: Callable[[bytes], Any] | None = None

    @property
    def decode(self) -> Callable[[bytes], Any]:
        """Decodes a line into the struct of its type; raises one of ``errors`` for a line of a
        type without a plan yet, or one this decoding cannot handle exactly."""
        if self._decode is None:
            members = tuple(self._members.values()) or (tagged(None, ""),)
            self._decode = msgspec.json.Decoder(Union[members]).decode  # noqa: UP007
        return self._decode

    def stats(self) -> dict[str, Any]:
        """How many types have plans, which of them skip lines, filter them or take the full path."""
        kinds = {"skip": 0, "filter": 0, "training": 0, "full": 0}
        trainings = {id(t.training) for t in self._by_signature.values() if isinstance(t, _Trainer)}
        for plan in self.plans.values():
            if plan is None:
                kinds["full"] += 1
            elif plan.evaluate is None:
                kinds["skip"] += 1
            elif id(plan) in trainings:
                kinds["training"] += 1
            else:
                kinds["filter"] += 1
        memos: dict[str, Any] = {}
        for plan in self.plans.values():
            if plan is not None and plan.memo is not None:
                memos.setdefault(plan.base.__name__, plan.memo.stats())
        return {"event_types": len(self.plans), "event_types_limit": self.max_plans, **kinds, "memo": memos}

    def plan(self, raw_type: bytes) -> LinePlan | None:
        """The plan for a raw ``evt.type`` value, ``None`` when lines of it need the full path."""
        if raw_type in self.plans:
            return self.plans[raw_type]
        if len(self.plans) >= self.max_plans:
            return None
        evttype = _plain_type(raw_type)
        found = None if evttype is None else self._make(raw_type, evttype)
        self.plans[raw_type] = found
        if evttype is not None:
            self._member(evttype, found)
        return found

    def settle(self, raw_type: bytes, evttype: str, plan: LinePlan | None) -> None:
        """A trainer's final word on the lines of one type."""
        self.plans[raw_type] = plan
        self._member(evttype, plan)

    def _member(self, evttype: str, plan: LinePlan | None) -> None:
        self._members[evttype] = tagged(plan, evttype)
        self._decode = None

    def _make(self, raw_type: bytes, evttype: str) -> LinePlan | None:
        rules = self._cache.index.for_type(evttype)
        signature = self._cache.signature(rules, evttype)
        if signature not in self._by_signature:
            self._by_signature[signature] = self._start(rules, evttype)
        known = self._by_signature[signature]
        if isinstance(known, _Trainer):
            return known.plan_for(raw_type, evttype)
        return known

    def _start(self, rules: Sequence[Any], evttype: str) -> _Trainer | LinePlan | None:
        roots = [r.checked for r in rules]
        if any(root is None for root in roots):
            return None
        folded = [self._folder.fold(root, evttype) for root in roots]
        if all(r is False for r in folded):
            return self._skip_plan()
        if any(r is True for r in folded):
            return None  # some rule matches every event of the type
        dims = [(key, bounds) for key, bounds in bucket_dimensions(folded, ids=self.check_ids)
                if all(b.loader.kind == "plain" for b in bounds)]
        return _Trainer(self, f"Event{len(self._by_signature)}", folded, dims)

    def _skip_plan(self) -> LinePlan:
        if self._skip is None:
            cls, _ = struct_class("EventSkipped", ())
            self._skip = LinePlan(cls, None)
        return self._skip


def _plain_type(raw_type: bytes) -> str | None:
    """The type named by raw bytes without escapes, quotes or spaces, else ``None`` (the full
    decoder reads those)."""
    try:
        evttype = raw_type.decode("ascii")
    except UnicodeDecodeError:
        return None
    if not evttype or not all(c.isalnum() or c in "_-." for c in evttype):
        return None
    return evttype
