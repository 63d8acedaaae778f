"""Find every user-visible message in the code base (for the catalogue completeness test).

An AST walk over ``posyandu/`` collecting the text of:

* problems raised or built: ``InvalidInput``/``NotFound``/``Conflict``/``Forbidden``/
  ``Unauthorized``/``Problem`` and their subclasses (detail, ``title=``, ``errors={...}``),
  ``problem_response(status, title, detail=...)``, marshmallow ``ValidationError`` (its first
  argument: a message, a list, or a ``{field: [messages]}`` dict);
* exceptions whose text is shown to users through ``str(exc)`` (``CodeError``, ``RuleError``);
* ``error=`` of validators, ``default_error_messages`` of custom fields;
* ``{"message": ...}`` of warnings; ``errors[...] = [...]``, ``errors.setdefault(..).append(..)``
  and ``problems.append(..)`` in validation helpers; lists returned by ``*_errors`` functions.

Each message is reduced to a *skeleton*: f-string values and non-literal parts of ``+``
concatenations become ``{}``; catalogue templates are reduced the same way. Module-level string
constants used as messages are resolved.
"""
from __future__ import annotations

import ast
import pathlib
from dataclasses import dataclass

ROOT = pathlib.Path(__file__).resolve().parents[2] / "posyandu"
#: Modules whose texts never reach an API user (CLI output, developer tools, engine internals).
SKIP = ("devtools/", "tools/", "anthro_cli.py", "core/growth/", "notifications/", "cli.py", "/cli.py",
        "reminders/templates.py", "reminders/dispatcher.py", "logging_setup.py", "config.py", "demo/",
        "fhir/settings.py", "fhir/validation.py")
PROBLEM_CALLS = {"InvalidInput", "NotFound", "Conflict", "Forbidden", "Unauthorized", "Problem",
                 "FirebaseUnavailable", "FirebaseNotConfigured", "_refused", "_invalid", "_not_found", "_conflict", "CodeError",
                 "RuleError", "ValidationError", "problem_response"}
#: Calls whose later positional arguments are not messages (a field name, a slug).
FIRST_ARG_ONLY = {"ValidationError", "_refused"}
#: Keyword arguments that are not messages.
NOT_MESSAGES = {"slug", "extra", "status", "headers", "field_name", "data", "valid_data"}
ERROR_CONTAINERS = ("errors", "problems", "messages")


@dataclass(frozen=True)
class Found:
    skeleton: str
    where: str


def skeleton(node, constants: dict) -> str | None:
    """The message with its variable parts as ``{}``; None when it is no text at all."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(value.value)
            else:
                parts.append("{}")
        return "".join(parts)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = skeleton(node.left, constants), skeleton(node.right, constants)
        if left is None and right is None:
            return None
        return (left if left is not None else "{}") + (right if right is not None else "{}")
    if isinstance(node, ast.Name) and node.id in constants:
        return constants[node.id]
    return None


def _strings(node, constants):
    """Every message inside ``node`` (a message, or lists/dicts/tuples of them)."""
    text = skeleton(node, constants)
    if text is not None:
        yield text
        return
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        for element in node.elts:
            yield from _strings(element, constants)
    elif isinstance(node, ast.Dict):
        for value in node.values:
            yield from _strings(value, constants)
    elif isinstance(node, ast.ListComp):
        yield from _strings(node.elt, constants)
    elif isinstance(node, ast.DictComp):
        yield from _strings(node.value, constants)
    elif isinstance(node, ast.IfExp):
        yield from _strings(node.body, constants)
        yield from _strings(node.orelse, constants)


def _call_name(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _container_name(node) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute, ast.Call)):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else None


def messages_in(path: pathlib.Path) -> list[Found]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    rel = str(path.relative_to(ROOT.parent))
    constants = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            text = skeleton(node.value, {})
            if text is not None:
                constants[node.targets[0].id] = text
    found: list[Found] = []

    def add(node, where_node):
        for text in _strings(node, constants):
            if text.strip():
                found.append(Found(text, f"{rel}:{where_node.lineno}"))

    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef) and function.name.endswith("_errors"):
            for node in ast.walk(function):
                if isinstance(node, ast.Return) and isinstance(node.value, (ast.List, ast.Tuple)):
                    add(node.value, node)

    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name in PROBLEM_CALLS:
                args = node.args
                if name in FIRST_ARG_ONLY:
                    args = args[:1]
                elif name == "problem_response":
                    args = args[1:2]
                for arg in args:
                    add(arg, node)
                for keyword in node.keywords:
                    if keyword.arg not in NOT_MESSAGES:
                        add(keyword.value, node)
            for keyword in node.keywords:
                if keyword.arg == "error":
                    add(keyword.value, node)
            if name in ("append", "extend") and _container_name(node.func.value) in ERROR_CONTAINERS \
                    and isinstance(node.func, ast.Attribute):
                for arg in node.args:
                    add(arg, node)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values):
                if isinstance(key, ast.Constant) and key.value == "message":
                    add(value, node)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and _container_name(target) in ERROR_CONTAINERS:
                    add(node.value, node)
                if isinstance(target, ast.Name) and target.id == "default_error_messages":
                    add(node.value, node)
    return found


def all_messages() -> list[Found]:
    out = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = str(path.relative_to(ROOT))
        if any(part in rel or rel.endswith(part) for part in SKIP):
            continue
        out.extend(messages_in(path))
    return out
