"""The documentation matches the code: hooks, the entry-point group, the README's make targets."""
from __future__ import annotations

import configparser
import re
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
REFERENCE_PLUGINS = ("core.testing.dummy:DummyPlugin",)
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


def test_there_are_hooks_to_document() -> None:
    assert {"on_order_completed", "on_stock_changed", "verify_webhook"} <= set(hook_names())


@pytest.mark.parametrize("name", hook_names())
def test_every_hook_is_documented(name: str) -> None:
    assert f"### `{name}`" in guide(), f"docs/plugins.md has no '### `{name}`' section"


def test_the_guide_documents_no_hook_that_does_not_exist() -> None:
    headings = set(re.findall(r"^### `([a-z_]+)`", guide(), flags=re.MULTILINE))
    assert headings - set(hook_names()) == set(), "the guide documents hooks that core/hookspecs.py lacks"


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
