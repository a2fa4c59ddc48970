"""Issue 8's kit rules: core tests name no platform, production plugin code imports no sandbox or test kit,
the wheel ships no plugin tests, and the kit finds its drivers through the development entry points."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from core.testing.kit.driver import DRIVER_GROUP, StoreDriver, driver_classes

ROOT = Path(__file__).resolve().parents[1]
#: The platforms with a driver (the dummy is the core's own reference platform).
PLATFORMS = re.compile("|".join(name for name in driver_classes() if name != "dummy"), re.IGNORECASE)
#: Core test files that still name a platform, and why. The browser tests drive one platform sandbox's
#: own structures (its credential form, its order items) through Chromium; they move to the plugin next.
NAMING_EXCEPTIONS = {"tests/browser/"}
#: Modules of a platform plugin that run in production.
PRODUCTION_MODULES = ("__init__.py", "client.py", "schemas.py", "webhooks.py")


def test_core_tests_name_no_platform() -> None:
    """Kit rule: outside the kit, the core's tests name no platform (documented exceptions aside)."""
    this = Path(__file__).resolve()
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted((ROOT / "tests").rglob("*.py")) if path.resolve() != this
        if not any(str(path.relative_to(ROOT)).startswith(prefix) for prefix in NAMING_EXCEPTIONS)
        for number, line in enumerate(path.read_text().splitlines(), start=1) if PLATFORMS.search(line)
    ]
    assert offenders == []
    assert all((ROOT / prefix).exists() for prefix in NAMING_EXCEPTIONS), "drop exceptions that are gone"


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_production_plugin_modules_import_no_sandbox_or_test_kit() -> None:
    """Sandboxes out of production: a plugin's production modules import neither its sandbox nor core.testing."""
    checked, offenders = 0, []
    for plugin in sorted(p for p in (ROOT / "plugins").iterdir() if (p / "__init__.py").exists()):
        for module in PRODUCTION_MODULES:
            if (plugin / module).exists():
                checked += 1
                bad = {name for name in _imports(plugin / module)
                       if name.startswith("core.testing") or name.endswith((".sandbox", ".testing"))}
                offenders += [f"{plugin.name}/{module}: {name}" for name in sorted(bad)]
    assert checked >= 8 and offenders == []


def test_every_driver_is_found_through_the_development_entry_points() -> None:
    """Drivers are found through the mizan.testing group; each follows the StoreDriver protocol."""
    drivers = driver_classes()
    assert "dummy" in drivers and len(drivers) >= 3, f"{DRIVER_GROUP}: {sorted(drivers)}"
    for name, cls in drivers.items():
        assert cls.platform == name and isinstance(cls(), StoreDriver)


@pytest.mark.slow
def test_the_wheel_ships_no_tests(tmp_path: Path) -> None:
    """The installed wheel holds the kit and the plugins but no ``tests`` package."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q",
                    "-w", str(tmp_path), str(ROOT)], check=True, cwd=tmp_path, timeout=600)
    wheel = next(tmp_path.glob("mizan-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    drivers = [cls.__module__.replace(".", "/") + ".py" for cls in driver_classes().values()]
    assert "core/testing/kit/pytest_plugin.py" in names and set(drivers) <= set(names)
    assert [name for name in names if "/tests/" in name or name.startswith("tests/")] == []
