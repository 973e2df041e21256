"""The reference interpreter: a condition AST evaluated directly against one event.

It is deliberately plain (look the field up, parse the literal, apply the
generic ``compare``) and shares no code with the generator's specialisations,
so that differential tests between the two mean something.  It is slow: use
``compile_expr`` for real work.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from detector.codegen.check import check_expr, deep_recursion, expr_depth
from detector.fields import operators as ops
from detector.fields.registry import BoundField, FieldSource, get_source
from detector.fields.types import FieldType, parse_hex_bytes, parse_literal
from detector.language.ast import (
    And,
    BinaryCheck,
    Expr,
    FieldRef,
    ListValue,
    Node,
    Not,
    Or,
    Transform,
    TransformerList,
    UnaryCheck,
    Value,
)


class Interpreter:
    """A validated condition, evaluated by walking its AST on every call.

    Field bindings and parsed literals are memoised per node (the AST is
    immutable), so repeated calls cost a tree walk, not a recompilation.
    """

    def __init__(self, expr: Expr, source: str | FieldSource = "syscall") -> None:
        self.source = get_source(source)
        self.root = expr
        self.depth = expr_depth(expr)
        self.event: Mapping[str, Any] = {}
        self._bound: dict[int, BoundField] = {}
        self._literals: dict[int, list[Any]] = {}
        check_expr(expr, self.source)

    def __call__(self, event: Mapping[str, Any]) -> bool:
        self.event = event
        if self.depth > 200:
            with deep_recursion(self.depth):
                return self.expr(self.root)
        return self.expr(self.root)

    def bind(self, node: FieldRef) -> BoundField:
        bound = self._bound.get(id(node))
        if bound is None:
            bound = self._bound[id(node)] = self.source.bind(node.name, node.arg)
        return bound

    def expr(self, node: Expr) -> bool:
        if isinstance(node, And):
            return all(self.expr(c) for c in node.children)
        if isinstance(node, Or):
            return any(self.expr(c) for c in node.children)
        if isinstance(node, Not):
            return not self.expr(node.child)
        if isinstance(node, UnaryCheck):
            return self.operand(node.left)[0] is not None
        assert isinstance(node, BinaryCheck)
        return self.binary(node)

    def operand(self, node: Node) -> tuple[Any, FieldType, bool, str | None]:
        """``(value, type, is_list, multi)`` of a field, transformer, literal or transformer list."""
        if isinstance(node, FieldRef):
            bound = self.bind(node)
            return bound.extract(self.event), bound.type, bound.is_list, bound.multi
        if isinstance(node, Value):
            return node.text, FieldType.CHARBUF, False, None
        if isinstance(node, TransformerList):
            return ops.make_list(*(self.operand(i)[0] for i in node.items)), FieldType.CHARBUF, True, None
        assert isinstance(node, Transform)
        args = [self.operand(a) for a in node.args]
        if node.name == "val":
            return args[0]
        if node.name == "join":
            return ops.join(args[0][0], args[1][0]), FieldType.CHARBUF, False, None
        if node.name == "concat":
            return ops.concat(*(a[0] for a in args)), FieldType.CHARBUF, False, None
        if node.name == "getopt":
            return ops.getopt(args[0][0], args[1][0], node.arg), FieldType.CHARBUF, node.arg is None, None
        value, ftype, is_list, _ = args[0]
        result = ops.transformed_type(node.name, ftype, is_list)
        assert result is not None
        return ops.apply_transformer(node.name, value, is_list), result[0], result[1], None

    def binary(self, node: BinaryCheck) -> bool:
        value, ftype, is_list, multi = self.operand(node.left)
        if value is None:
            return False
        op = node.op
        if isinstance(node.right, Transform):
            rhs = self.operand(node.right)[0]
            if rhs is None:
                return False
            return ops.compare_field(op, ftype, is_list, value, rhs)
        rhs_values = self._literals.get(id(node))
        if rhs_values is None:
            texts = node.right.items if isinstance(node.right, ListValue) else (node.right.text,)
            rhs_values = self._literals[id(node)] = [self.literal(op, ftype, t) for t in texts]
        if multi is not None:
            results = (self.one(node, ftype, is_list, v, rhs_values) for v in value)
            if multi == "socket" and op == "!=":
                return all(results)
            return any(results)
        return self.one(node, ftype, is_list, value, rhs_values)

    @staticmethod
    def literal(op: str, ftype: FieldType, text: str) -> Any:
        if op in ("bcontains", "bstartswith"):
            return parse_hex_bytes(text)
        if op in ("regex", "pmatch", "glob", "iglob"):
            return text
        return parse_literal(ftype, text)

    @staticmethod
    def one(node: BinaryCheck, ftype: FieldType, is_list: bool, value: Any, rhs: list[Any]) -> bool:
        op = node.op
        if is_list:
            if op == "in":
                return all(any(ops.compare("=", ftype, item, r) for r in rhs) for item in value)
            return any(any(ops.compare("=", ftype, item, r) for r in rhs) for item in value)
        if op in ("in", "intersects"):
            return any(ops.compare("=", ftype, value, r) for r in rhs)
        if op == "pmatch":
            return any(ops.compare("pmatch", ftype, value, r) for r in rhs)
        if node.modifier is None:
            return ops.compare(op, ftype, value, rhs[0])
        hits = sum(1 for r in rhs if ops.compare(op, ftype, value, r))
        if node.modifier == "oneof":
            return hits == 1
        if node.modifier == "anyof":
            return hits >= 1
        return bool(rhs) and hits == len(rhs)


def interpret(expr: Expr, event: Mapping[str, Any], source: str | FieldSource = "syscall") -> bool:
    """Whether ``event`` satisfies ``expr``; raises ``ConditionCompileError`` as ``compile_expr`` would."""
    return Interpreter(expr, source)(event)

