"""Every dependency is pinned in constraints.txt, and the installed versions are the pinned ones."""
from __future__ import annotations

import configparser
import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared_requirements() -> set[str]:
    """Names in setup.cfg's install_requires and every extra."""
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg["options"]["install_requires"].splitlines()
    for extra in cfg["options.extras_require"].values():
        lines += extra.splitlines()
    return {canonical(re.split(r"[<>=!~\[ ;]", line.strip(), maxsplit=1)[0]) for line in lines if line.strip()}


def pins() -> dict[str, str]:
    pinned = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraints.txt line {line!r} is not an exact pin"
            pinned[canonical(name)] = version
    return pinned


def test_every_declared_dependency_is_pinned() -> None:
    missing = declared_requirements() - set(pins())
    assert not missing, f"not pinned in constraints.txt (run `make lock`): {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(declared_requirements()))
def test_installed_version_is_the_pinned_one(name: str) -> None:
    assert metadata.version(name) == pins()[name], f"{name}: installed version differs from constraints.txt"
