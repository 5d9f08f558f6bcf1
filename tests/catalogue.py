"""The project's msgids, collected to check the catalogues and to rewrite them.

Msgids come from two places:

* what pybabel sees as gettext calls, per babel.cfg: `_`, `gettext`, `ngettext`, `N_` and `t`
  in fair/**.py and templates/**.html;
* what it cannot see, found here by walking the AST of fair/**/*.py: FairError messages and
  their `fields={...}` values, strings put in form `errors[...]`, the `label` properties of
  fair/enums.py, the TITLES / PRIORITY_LABELS / DOMAINS dicts and the REQUIRED / DEFAULT_DECLINE
  constants.

Maintenance:
    .venv/bin/python -c "from tests.catalogue import write_pot; write_pot()"
        rewrites fair/locale/messages.pot from both sources;
    .venv/bin/python -c "from tests.catalogue import update_catalogs; update_catalogs()"
        does the same, then adds the new msgids (untranslated, never fuzzy) to every
        fair/locale/<locale>/LC_MESSAGES/messages.po and drops the ones no longer used.
"""

from __future__ import annotations

import ast
import builtins
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "fair"
LOCALE_DIR = PACKAGE / "locale"
POT = LOCALE_DIR / "messages.pot"
BABEL_CFG = ROOT / "babel.cfg"
KEYWORDS = {**DEFAULT_KEYWORDS, "N_": None, "t": None}

ERROR_SUFFIXES = (
    "Error",
    "Invalid",
    "Conflict",
    "Forbidden",
    "NotFound",
    "TooLarge",
    "TooMany",
    "Unauthenticated",
    "FairError",
    "NotYours",
    "Throttled",
)
LABEL_DICTS = {"TITLES", "PRIORITY_LABELS", "DOMAINS"}
CONSTANTS = {"REQUIRED", "DEFAULT_DECLINE"}
# Python-format placeholders: %(name)s, and the unnamed %s / %d that must not appear.
PLACEHOLDER = re.compile(r"%(?:\((\w+)\))?[-#0 +]*\d*(?:\.\d+)?[sdifr]")

Msgid = str | tuple[str, ...]  # a singular, or (singular, plural) for ngettext


# --- Collection -----------------------------------------------------------------------------


def _relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def babel_messages() -> Iterator[tuple[Msgid, str, int]]:
    """What pybabel extracts with babel.cfg: (msgid, file, line)."""
    with BABEL_CFG.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle, filename=str(BABEL_CFG))
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        yield message, filename, lineno


def _string(node: ast.AST | None) -> str | None:
    """A string literal, also when wrapped in N_(...) / _(...)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if (
        isinstance(node, ast.Call)
        and _name(node.func) in ("N_", "_", "gettext")
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return node.args[0].value
    return None


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _dict_values(node: ast.AST | None) -> Iterator[tuple[str, int]]:
    if isinstance(node, ast.Dict):
        for value in node.values:
            text = _string(value)
            if text is not None:
                yield text, value.lineno


def _is_errors(node: ast.AST) -> bool:
    """`errors`, `self.errors`, `fields.errors`...: a form's field errors."""
    return _name(node).endswith("errors")


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def not_user_facing_errors() -> set[str]:
    """Exceptions whose messages are for developers or operators, not for users.

    Python's own (ValueError...) and the project's classes that do not derive from FairError
    (SettingsError, CommandError...), even though their names end in "Error".
    """
    bases: dict[str, set[str]] = {}
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(_name(b) for b in node.bases)

    def user_facing(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name == "FairError":
            return True
        if name in seen or name not in bases:
            return False
        return any(user_facing(base, seen | {name}) for base in bases[name])

    builtin = {name for name in dir(builtins) if name.endswith(ERROR_SUFFIXES)}
    return builtin | {name for name in bases if not user_facing(name)}


def _assigned_strings(scope: ast.AST) -> dict[str, list[str]]:
    """The string literals assigned to each plain name within `scope` (`message = "..."`)."""
    found: dict[str, list[str]] = {}
    nodes: Iterable[ast.AST] = scope.body if isinstance(scope, ast.Module) else ast.walk(scope)
    for node in nodes:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if (text := _string(value)) is not None:
            for target in targets:
                if isinstance(target, ast.Name):
                    found.setdefault(target.id, []).append(text)
    return found


def _resolve(
    node: ast.AST | None, local: dict[str, list[str]], module: dict[str, list[str]]
) -> Iterator[tuple[str, int]]:
    """The msgids an argument may hold: a literal, or a name assigned literals in scope."""
    if node is None:
        return
    if (text := _string(node)) is not None:
        yield text, node.lineno  # type: ignore[attr-defined]
    elif isinstance(node, ast.Name):
        for text in local.get(node.id) or module.get(node.id) or ():
            yield text, node.lineno
    elif isinstance(node, ast.IfExp):
        yield from _resolve(node.body, local, module)
        yield from _resolve(node.orelse, local, module)
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            yield from _resolve(value, local, module)


def ast_messages_in(path: Path, skipped: set[str] | None = None) -> Iterator[tuple[str, int]]:
    """The msgids of one Python file that are not gettext calls: (msgid, line)."""
    skipped = not_user_facing_errors() if skipped is None else skipped
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    in_enums = path == PACKAGE / "enums.py"
    module = _assigned_strings(tree)

    for node in tree.body:  # module-level label dicts and constants
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            if target.id in LABEL_DICTS:
                yield from _dict_values(value)
            elif target.id in CONSTANTS and (text := _string(value)) is not None:
                yield text, value.lineno

    scopes: list[ast.AST] = [tree]
    scopes += [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    for scope in scopes:
        local = _assigned_strings(scope) if scope is not tree else {}
        for inner in _own_nodes(scope):
            yield from _node_messages(inner, local, module, skipped, in_enums)


def _own_nodes(scope: ast.AST) -> Iterator[ast.AST]:
    """The nodes of a module or function, without those of the functions nested in it."""
    stack = list(ast.iter_child_nodes(scope))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            stack.extend(ast.iter_child_nodes(node))


def _node_messages(
    node: ast.AST,
    local: dict[str, list[str]],
    module: dict[str, list[str]],
    skipped: set[str],
    in_enums: bool,
) -> Iterator[tuple[str, int]]:
    if isinstance(node, ast.Call):
        name = _name(node.func)
        if name.endswith(ERROR_SUFFIXES) and name not in skipped:
            if node.args:
                yield from _resolve(node.args[0], local, module)
            for keyword in node.keywords:
                if keyword.arg == "message":
                    yield from _resolve(keyword.value, local, module)
                elif keyword.arg == "fields" and isinstance(keyword.value, ast.Dict):
                    for value in keyword.value.values:
                        yield from _resolve(value, local, module)
        elif name == "flash" and len(node.args) >= 2:  # fair.web.flash.flash(request, msgid)
            plural = [_string(k.value) for k in node.keywords if k.arg == "plural"]
            singular = _string(node.args[1])
            if plural and singular is not None and plural[0] is not None:
                yield (singular, plural[0]), node.lineno  # type: ignore[misc]
            else:
                yield from _resolve(node.args[1], local, module)
        elif (
            name == "setdefault"
            and isinstance(node.func, ast.Attribute)
            and _is_errors(node.func.value)
            and len(node.args) == 2
        ):
            yield from _resolve(node.args[1], local, module)
    elif isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Subscript) and _is_errors(target.value):
                yield from _resolve(node.value, local, module)
    elif in_enums and isinstance(node, ast.FunctionDef) and node.name == "label":
        for inner in ast.walk(node):
            yield from _dict_values(inner)


def ast_messages() -> Iterator[tuple[str, str, int]]:
    skipped = not_user_facing_errors()
    for path in _sources():
        for text, lineno in ast_messages_in(path, skipped):
            yield text, _relative(path), lineno


def collect() -> Catalog:
    """Every msgid of the project, with where it is used."""
    catalog = Catalog(
        project="fair",
        version="0.1.0",
        copyright_holder="fair contributors",
        msgid_bugs_address="",
        charset="utf-8",
        fuzzy=False,
    )
    found: list[tuple[Msgid, str, int]] = list(babel_messages())
    found += [(text, filename, lineno) for text, filename, lineno in ast_messages()]
    for message, filename, lineno in found:
        key = message[0] if isinstance(message, tuple) else message
        if not key:
            continue
        existing = catalog.get(key)
        if existing is not None and isinstance(message, str) and isinstance(existing.id, tuple):
            message = existing.id  # the same singular, also used with a plural
        catalog.add(message, locations=[(filename, lineno)], flags=_flags(message))
    return catalog


def _flags(message: Msgid) -> tuple[str, ...]:
    texts = message if isinstance(message, tuple) else (message,)
    return ("python-format",) if any(PLACEHOLDER.search(text) for text in texts) else ()


def write_pot() -> Catalog:
    """Rewrite fair/locale/messages.pot from the sources; returns the template catalogue."""
    template = collect()
    with POT.open("wb") as handle:
        write_po(handle, template, width=100, sort_output=False, sort_by_file=True)
    return template


def update_catalogs() -> None:
    """Write the .pot, then add new msgids to every .po (empty) and drop unused ones.

    A translated msgid that the collectors do not see but whose start still stands in a source
    file (a message passed through a variable, a helper the AST walk does not know) is kept.
    """
    template = write_pot()
    sources = "\n".join(
        path.read_text(encoding="utf-8")
        for path in [*PACKAGE.rglob("*.py"), *(ROOT / "templates").rglob("*.html")]
    )
    for po in sorted(LOCALE_DIR.glob("*/LC_MESSAGES/messages.po")):
        catalog = read_catalogue(po)
        catalog.update(template, no_fuzzy_matching=True, update_header_comment=False)
        kept = [m for m in catalog.obsolete.values() if m.string and _in_sources(m.id, sources)]
        catalog.obsolete.clear()
        for message in kept:
            catalog.add(message.id, message.string)
        with po.open("wb") as handle:
            write_po(handle, catalog, width=100, sort_by_file=True, include_previous=False)


def _in_sources(msgid: Msgid, sources: str) -> bool:
    first = msgid if isinstance(msgid, str) else msgid[0]
    return first.split("\n")[0][:30] in sources


def read_catalogue(path: Path) -> Catalog:
    locale = path.parent.parent.name
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, abort_invalid=True)
