"""The documentation matches the code: hooks, the entry-point group, the README's make targets."""
from __future__ import annotations

import ast
import configparser
import inspect
import re
import textwrap
from importlib import import_module
from pathlib import Path
from typing import Any

import pluggy
import pytest

from core import hookspecs
from core.platform.base import PlatformPlugin
from core.plugins import ENTRY_POINT_GROUP
from core.testing.kit.driver import DRIVER_GROUP

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "plugins.md"
#: The reference plugin: not an entry point, loaded through EXTRA_PLUGINS by tests and demos.
REFERENCE_PLUGINS = ("core.testing.dummy:DummyPlugin", "core.testing.example_migrations:ExampleMigrationsPlugin")
#: Hooks with a spec the core does not call yet and no plugin implements. Strict: once the core
#: calls one, its test passes, the xfail turns into a failure and the entry must go.
NOT_WIRED_YET: dict[str, str] = {}


def hook_names() -> list[str]:
    marker = f"{hookspecs.PROJECT}_spec"
    return sorted(name for name, value in vars(hookspecs).items() if hasattr(value, marker))


def guide() -> str:
    return GUIDE.read_text(encoding="utf-8")


def setup_cfg_entry_points() -> dict[str, dict[str, str]]:
    parser = configparser.ConfigParser()
    parser.read(ROOT / "setup.cfg", encoding="utf-8")
    groups = {}
    for group, value in parser["options.entry_points"].items():
        entries = [line.strip() for line in value.splitlines() if line.strip()]
        groups[group] = dict((part.strip() for part in entry.split("=", 1)) for entry in entries)
    return groups


def load(reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    return getattr(import_module(module_name), attribute)


def code_files() -> list[Path]:
    """The core's own code: what calls hooks (not the specs, not the testing helpers)."""
    return [path for path in (ROOT / "core").rglob("*.py")
            if path.name != "hookspecs.py" and "testing" not in path.relative_to(ROOT / "core").parts]


# -- hooks ----------------------------------------------------------------------------------


#: A hook's heading in the guide: "### `name(arg: type, ...) -> return`", exactly as in core/hookspecs.py.
HOOK_HEADING = re.compile(r"^### `([a-z][a-z0-9_]*)\((.*)\) -> (.+)`$", flags=re.MULTILINE)
#: Any "### `…`" heading whose text starts like a call: a hook heading, well formed or not.
CALL_LIKE_HEADING = re.compile(r"^### `([a-z][a-z0-9_]*)\(.*$", flags=re.MULTILINE)
#: The example each hookspec's docstring carries: "Example::" and an indented block of code.
EXAMPLE = re.compile(r"^\s*Example::\s*\n((?:\s*\n|[ \t]+\S.*\n?)+)", flags=re.MULTILINE)


def spec_signature(name: str) -> str:
    """``name(arg: annotation, ...) -> return`` as written in core/hookspecs.py (annotations are strings)."""
    signature = inspect.signature(getattr(hookspecs, name))
    params = ", ".join(
        f"{param.name}: {param.annotation}" + ("" if param.default is param.empty else f" = {param.default!r}")
        for param in signature.parameters.values()
    )
    return f"{name}({params}) -> {signature.return_annotation}"


def documented_signatures() -> dict[str, list[str]]:
    """Hook name -> the signatures the guide's headings give it (one, when the guide is right)."""
    found: dict[str, list[str]] = {}
    for match in HOOK_HEADING.finditer(guide()):
        found.setdefault(match.group(1), []).append(match.group(0).removeprefix("### `").removesuffix("`"))
    return found


def annotations(name: str) -> dict[str, str]:
    """Each parameter's annotation and the return's (``"return"``), empty when missing."""
    signature = inspect.signature(getattr(hookspecs, name))
    empty = inspect.Signature.empty
    found = {param.name: "" if param.annotation is empty else str(param.annotation)
             for param in signature.parameters.values()}
    found["return"] = "" if signature.return_annotation is empty else str(signature.return_annotation)
    return found


def docstring_example(name: str) -> str:
    match = EXAMPLE.search(inspect.getdoc(getattr(hookspecs, name)) or "")
    return textwrap.dedent(match.group(1)) if match else ""


def test_there_are_hooks_to_document() -> None:
    assert {"on_order_completed", "on_stock_changed", "register_migrations"} <= set(hook_names())


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_is_documented_with_the_signature_of_its_spec(name: str) -> None:
    """docs/plugins.md has one "### `<signature>`" heading per hook, the spec's signature verbatim (issue 8, Docs)."""
    expected = spec_signature(name)
    documented = documented_signatures().get(name, [])
    assert documented, f"docs/plugins.md has no '### `{expected}`' heading"
    assert documented == [expected], f"docs/plugins.md documents {name} as {documented}, the spec says {expected}"


def test_the_guide_documents_no_hook_that_does_not_exist() -> None:
    call_like = set(CALL_LIKE_HEADING.findall(guide()))
    well_formed = set(documented_signatures())
    assert call_like == well_formed, f"hook headings not in the '### `name(...) -> type`' form: {call_like - well_formed}"
    assert well_formed - set(hook_names()) == set(), "the guide documents hooks that core/hookspecs.py lacks"
    bare = set(re.findall(r"^### `([a-z_]+)`$", guide(), flags=re.MULTILINE)) & set(hook_names())
    assert bare == set(), f"hooks documented without their signature: {bare}"


@pytest.mark.parametrize("name", hook_names())
def test_every_hookspec_is_fully_typed_without_any(name: str) -> None:
    """Each parameter and the return are annotated, and no annotation says ``Any`` (issue 8)."""
    found = annotations(name)
    assert [part for part, annotation in found.items() if not annotation] == [], f"{name} lacks annotations"
    loose = {part: annotation for part, annotation in found.items() if re.search(r"\bAny\b", annotation)}
    assert loose == {}, f"{name} is typed with Any: {loose}"


@pytest.mark.parametrize("name", hook_names())
def test_every_hookspec_docstring_carries_an_example_implementation(name: str) -> None:
    """An "Example::" block that parses and implements the hook with ``@hookimpl`` and the spec's
    argument names (a subset, as pluggy allows) (issue 8)."""
    example = docstring_example(name)
    assert example, f"the docstring of {name} has no 'Example::' block"
    tree = ast.parse(example)
    implementations = [node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef) and node.name == name]
    assert len(implementations) == 1, f"the example of {name} defines no function {name}"
    implementation = implementations[0]
    assert [ast.unparse(decorator) for decorator in implementation.decorator_list] == ["hookimpl"]
    arguments = [arg.arg for arg in implementation.args.args if arg.arg != "self"]
    spec_arguments = list(inspect.signature(getattr(hookspecs, name)).parameters)
    assert set(arguments) <= set(spec_arguments), f"the example of {name} takes {arguments}, the spec {spec_arguments}"


def plugin_manager() -> pluggy.PluginManager:
    """Every in-tree plugin (setup.cfg) and the reference plugin in one plugin manager."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    references = {**setup_cfg_entry_points()[ENTRY_POINT_GROUP],
                  **{ref.rpartition(":")[2]: ref for ref in REFERENCE_PLUGINS}}
    for name, reference in references.items():
        obj = load(reference)
        pm.register(obj() if isinstance(obj, type) else obj, name=name)
    pm.check_pending()
    return pm


def called_by_the_core(name: str) -> bool:
    """``hook.<name>(``, ``implementers("<name>")`` / ``call_one(.., "<name>")`` or a direct
    ``getattr(plugin, "<name>")`` somewhere in core/ (outside the specs and core/testing)."""
    patterns = [rf"\.hook\.{name}\(", rf"""implementers\(\s*["']{name}["']""",
                rf"""call_one\([^)]*["']{name}["']""", rf"""getattr\(\s*\w+\s*,\s*["']{name}["']"""]
    source = "\n".join(path.read_text(encoding="utf-8") for path in code_files())
    return any(re.search(pattern, source) for pattern in patterns)


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=NOT_WIRED_YET[name]))
    if name in NOT_WIRED_YET else name
    for name in hook_names()
])
def test_every_hook_is_implemented_or_called_by_the_core(name: str) -> None:
    implementers = [impl.plugin_name for impl in getattr(plugin_manager().hook, name).get_hookimpls()]
    assert implementers or called_by_the_core(name), (
        f"hook {name}: no in-tree or reference plugin implements it and the core never calls it")


# -- the entry-point group ------------------------------------------------------------------


def test_setup_cfg_registers_the_in_tree_plugins_under_the_code_group() -> None:
    groups = setup_cfg_entry_points()
    # Besides the code group: the test kit as a pytest plugin, and the development-only driver group.
    assert set(groups) == {ENTRY_POINT_GROUP, "pytest11", DRIVER_GROUP}
    assert groups["pytest11"] == {"mizan": "core.testing.kit.pytest_plugin"}
    for name, reference in groups[ENTRY_POINT_GROUP].items():
        plugin = load(reference)
        assert isinstance(plugin, type) and issubclass(plugin, PlatformPlugin), reference
        assert plugin.name == name, f"entry point {name} loads a plugin named {plugin.name!r}"
    for name, reference in groups[DRIVER_GROUP].items():
        assert load(reference).platform == name, f"driver {name} drives another platform"
    assert set(groups[ENTRY_POINT_GROUP]) <= set(groups[DRIVER_GROUP]), "every in-tree platform has a driver"


def test_the_guide_names_the_code_group_and_no_other() -> None:
    text = guide()
    assert ENTRY_POINT_GROUP == "mizan.plugins"
    assert f"`{ENTRY_POINT_GROUP}`" in text
    cfg_groups = re.findall(r"\[options\.entry_points\]\s*\n(?:#[^\n]*\n)*\s*([\w.-]+)\s*=", text)
    toml_groups = re.findall(r"""\[project\.entry-points\.["']?([\w.-]+?)["']?\]""", text)
    assert cfg_groups and toml_groups, "the guide shows a setup.cfg and a pyproject.toml example"
    assert set(cfg_groups) | set(toml_groups) == {ENTRY_POINT_GROUP}
    named = set(re.findall(r"entry[- ]point group[^`\n]{0,20}`([^`]+)`", text, flags=re.IGNORECASE))
    assert named == {ENTRY_POINT_GROUP}, f"the guide names these entry-point groups: {named}"


# -- the README's make targets --------------------------------------------------------------


def test_the_readme_make_targets_exist() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    inline = re.findall(r"`make ([a-z][\w-]*)", readme)
    blocks = "\n".join(re.findall(r"```[a-z]*\n(.*?)```", readme, flags=re.DOTALL))
    fenced = re.findall(r"(?:^|\s)make ([a-z][\w-]*)", blocks, flags=re.MULTILINE)
    documented = set(inline) | set(fenced)
    assert {"run", "test"} <= documented
    targets = set(re.findall(r"^([a-z][\w-]*):", (ROOT / "Makefile").read_text(encoding="utf-8"), flags=re.MULTILINE))
    assert documented <= targets, f"the README documents missing make targets: {documented - targets}"
