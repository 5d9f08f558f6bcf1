"""The architecture of ARCHITECTURE.md, enforced: layers, boundaries apart, no import cycles.

Layers, each importing only from the layers above it:

1. leaves: settings, enums, errors, clock, i18n, parse, tokens, geo, ttl_cache
2. infrastructure: db (and sqlite_hop, its SQLite cursor), models, migrations, events (queued in the
   session), channels (their names), broadcast (the pub/sub backends), unit_of_work (commit, then
   publish), media_rooms (the media backends' Protocol), app_state (the typed app state), tally
   (page views in memory), metrics (the Prometheus counters, which the broadcaster counts into),
   page_cache (public pages held a few seconds, in memory)
3. domain: every other module and package (interviews/, webconferences/, ...)
4. boundaries, each on its own: web/, live/, api/, media/, worker, cli (and __main__, which only
   runs cli)
5. app: the assembly, the only module that imports several boundaries
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fair"
LEAVES = {"settings", "enums", "errors", "clock", "i18n", "parse", "tokens", "geo", "ttl_cache"}
INFRASTRUCTURE = {
    "db",
    "sqlite_hop",
    "models",
    "migrations",
    "events",
    "channels",
    "broadcast",
    "unit_of_work",
    "media_rooms",
    "app_state",
    "tally",
    "metrics",
    "page_cache",
}
BOUNDARIES = {"web", "live", "api", "media", "worker", "cli", "__main__"}
# What one boundary may take from another: the commands that start the other processes.
BOUNDARY_EXCEPTIONS = {
    ("__main__", "cli"),
    ("cli", "worker"),  # `fair worker`
    ("cli", "media"),  # `fair media`
    ("cli", "app"),  # `fair serve`/`fair demo` start the assembled app
}


@dataclass(frozen=True)
class Import:
    importer: str  # module path below fair, e.g. "live.socket"
    imported: str
    line: int
    inline: bool  # inside a function: runs late, so it may break a cycle
    commented: bool  # a comment on its line or the line before says why
    typing_only: bool  # under `if TYPE_CHECKING:`, never run


def top(module: str) -> str:
    return module.split(".")[0]


def layer(module: str) -> int:
    name = top(module)
    if name in LEAVES:
        return 1
    if name in INFRASTRUCTURE:
        return 2
    if name in BOUNDARIES:
        return 4
    if name == "app":
        return 5
    return 3


def forbidden(importer: str, imported: str) -> str | None:
    """Why `importer` may not import `imported`, or None when it may."""
    if top(importer) == "migrations" or top(importer) == top(imported):
        return None
    mine, theirs = layer(importer), layer(imported)
    if theirs > mine:
        return f"layer {mine} imports layer {theirs}"
    if mine == theirs == 4 and (top(importer), top(imported)) not in BOUNDARY_EXCEPTIONS:
        return "one boundary imports another (only app.py assembles them)"
    if mine == theirs and mine in (1, 2) and top(importer) != top(imported):
        allowed = {("parse", "errors"), ("i18n", "settings"), ("channels", "parse")}
        if mine == 1 and (top(importer), top(imported)) not in allowed:
            return "a leaf imports another leaf"
    return None


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def resolve(node: ast.ImportFrom, importer: str, is_package: bool) -> str | None:
    if node.level:
        base = importer.split(".") if is_package else importer.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join([*base, node.module] if node.module else base)
    if node.module and (node.module == "fair" or node.module.startswith("fair.")):
        return node.module.removeprefix("fair").removeprefix(".")
    return None


def imports_of(path: Path) -> Iterator[Import]:
    importer = module_name(path)
    source = path.read_text()
    lines = source.splitlines()
    tree = ast.parse(source)
    typing_only = {
        id(inner)
        for outer in ast.walk(tree)
        if isinstance(outer, ast.If) and ast.unparse(outer.test).endswith("TYPE_CHECKING")
        for inner in ast.walk(outer)
    }
    inline_nodes = {
        id(inner)
        for outer in ast.walk(tree)
        if isinstance(outer, ast.FunctionDef | ast.AsyncFunctionDef)
        for inner in ast.walk(outer)
    }

    def found(name: str, node: ast.stmt) -> Import:
        around = lines[max(node.lineno - 2, 0) : node.end_lineno]
        return Import(
            importer,
            name,
            node.lineno,
            id(node) in inline_nodes,
            any("#" in x for x in around),
            id(node) in typing_only,
        )

    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = resolve(node, importer, path.name == "__init__.py")
            if base is None:
                continue
            for alias in node.names:
                candidate = f"{base}.{alias.name}" if base else alias.name
                # `from fair.web import auth` imports the module web.auth
                is_module = (PACKAGE / Path(*candidate.split("."))).with_suffix(".py").exists() or (
                    PACKAGE / Path(*candidate.split("."))
                ).is_dir()
                yield found(candidate if is_module else base, node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("fair."):
                    yield found(alias.name.removeprefix("fair."), node)


def all_imports() -> list[Import]:
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "versions" in path.parts or path == PACKAGE / "__init__.py":
            continue
        found.extend(imports_of(path))
    return found


def test_every_import_follows_the_layers():
    problems = [
        f"{i.importer}:{i.line} imports {i.imported}: {why}"
        for i in all_imports()
        if (why := forbidden(i.importer, i.imported))
    ]
    assert problems == []


# The leaks issue 11 removed; each must stay refused by the rule above.
REMOVED_LEAKS = [
    ("live.socket", "web.auth"),
    ("live.stage_commands", "web.recordings"),
    ("web.auth", "live.protocol"),
    ("media.host", "live.broadcast"),
    ("media.host", "live.protocol"),
    ("media.server", "live.broadcast"),
    ("worker", "live.socket"),
    ("worker", "live.protocol"),
    ("web.templating", "live.socket"),
    ("interviews", "web.interviews"),
    ("media.stage", "live.socket"),
]


@pytest.mark.parametrize(("importer", "imported"), REMOVED_LEAKS)
def test_the_leaks_issue_11_removed_are_refused(importer, imported):
    assert forbidden(importer, imported) is not None


@pytest.mark.parametrize(
    ("importer", "imported"),
    [
        ("web.auth", "unit_of_work"),
        ("live.socket", "broadcast"),
        ("media.host", "unit_of_work"),
        ("worker", "queues"),
        ("app", "web"),
        ("app", "live.socket"),
        ("interviews.booking", "interviews.rules"),
        ("cli", "media.server"),
    ],
)
def test_downward_imports_are_allowed(importer, imported):
    assert forbidden(importer, imported) is None


def test_inline_imports_say_why():
    """A function-level import hides a dependency: its comment must say why it is late."""
    silent = [
        f"{i.importer}:{i.line} imports {i.imported}"
        for i in all_imports()
        if i.inline and not i.commented
    ]
    assert silent == []


def test_no_import_cycles_between_modules():
    """Module-level imports form no cycle (inline imports, commented, may break one)."""
    graph: dict[str, set[str]] = {}
    for i in all_imports():
        if not (i.inline or i.typing_only) and i.imported != i.importer:
            graph.setdefault(i.importer, set()).add(i.imported)
    # a package's __init__ re-exports its modules: importing the package means importing them
    cycles = []
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join([*trail[trail.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt, [*trail, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    assert cycles == []


def test_boundaries_never_assign_statuses():
    for boundary in ("web", "live", "media"):
        for path in (PACKAGE / boundary).rglob("*.py"):
            assert ".status = " not in path.read_text(), path


def test_no_permission_helper_lives_in_a_boundary():
    """Who may do what is the domain's (permissions.py, <family>/rules.py)."""
    named = [
        f"{path.relative_to(PACKAGE)}: {node.name}"
        for boundary in ("web", "live", "media")
        for path in (PACKAGE / boundary).rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.name.lstrip("_").startswith(("may_", "can_", "require_member", "require_admin"))
    ]
    assert named == []


def test_one_owning_function_per_status():
    """Each kind of row has its status written by one function (its docstring lists the side
    effects): `applications.set_status`, `interviews.lifecycle.move`, `queues.move`, ..."""
    writers: dict[str, set[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if "versions" in path.parts:
            continue
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(function):
                targets = node.targets if isinstance(node, ast.Assign) else []
                for target in targets:
                    if (
                        isinstance(target, ast.Attribute)
                        and target.attr == "status"
                        and isinstance(target.value, ast.Name)
                        and target.value.id != "self"
                    ):
                        writers.setdefault(target.value.id, set()).add(
                            f"{module_name(path)}.{function.name}"
                        )
    assert {row: owners for row, owners in writers.items() if len(owners) > 1} == {}
    assert len(writers) >= 8  # the rule is seen at work: applications, interviews, queues...
