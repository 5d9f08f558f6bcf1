"""The payload keys a /live command's handler reads, found in its source (tests/test_socket_fuzz.py
fuzzes them; tests/test_gate_routes.py checks the edition each command names is among them)."""

from __future__ import annotations

import ast
import inspect
import re
import textwrap
from collections.abc import Callable
from typing import Any

from fair.live import payloads

KEY_RE = r"^[a-z][a-z_]{0,29}$"


def payload_keys(handler: Callable[..., Any]) -> set[str]:
    """The literal payload keys `handler` reads, following the functions it hands its payload."""
    found: set[str] = set()
    seen: set[Any] = set()

    def visit(function: Any) -> None:
        owner = getattr(function, "__self__", None)  # a bound method: `self.key` is known
        function = inspect.unwrap(getattr(function, "__func__", function))
        if function in seen or not inspect.isfunction(function):
            return
        seen.add(function)
        tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
        names = function.__globals__

        def constant(node: ast.AST) -> Any:
            if isinstance(node, ast.Constant):
                return node.value
            if (  # self.key of a bound method's object
                owner is not None
                and isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id == "self"
            ):
                return getattr(owner, node.attr, None)
            return None

        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            args = [*node.args, *(k.value for k in node.keywords)]
            passes_payload = any(isinstance(a, ast.Name) and a.id == "payload" for a in args)
            target = node.func
            if (  # payload.get("key") / payload.get("key", default)
                isinstance(target, ast.Attribute)
                and isinstance(target.value, ast.Name)
                and target.value.id == "payload"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                found.add(str(node.args[0].value))
            if not passes_payload:
                continue
            if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
                module = names.get(target.value.id)
                if module is payloads:  # payloads.integer(payload, "booth_id")
                    keys = [constant(a) for a in node.args[1:2]]
                    found.update(str(k) for k in keys if isinstance(k, str))
                if module is not None:
                    visit(getattr(module, target.attr, None))
                elif target.value.id == "self" and owner is not None:
                    visit(getattr(owner, target.attr, None))
            elif isinstance(target, ast.Name):
                visit(names.get(target.id))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name)
                and node.value.id == "payload"
                and isinstance(node.slice, ast.Constant)
            ):
                found.add(str(node.slice.value))

    visit(handler)
    return {k for k in found if re.match(KEY_RE, k)}
