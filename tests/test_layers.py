"""The import layers hold (issue 8): the ledger imports nothing above it, nothing imports upward, no cycle.

The contracts are in ``.importlinter`` (import-linter, also run by ``lint-imports``); imports inside
functions count.
"""
from __future__ import annotations

import configparser
from pathlib import Path

import grimp
import pytest
from importlinter import configuration
from importlinter.cli import lint_imports
from importlinter.contracts.forbidden import ForbiddenContract
from importlinter.contracts.layers import LayersContract

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".importlinter"


def contracts() -> list[str]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    return [section.split(":", 2)[2] for section in parser.sections() if section.startswith("importlinter:contract:")]


def test_the_layer_contracts_cover_the_ledger_the_layers_and_the_integration_cycles() -> None:
    """The three contracts the issue asks for are configured, with the ledger below everything it must not know."""
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    assert contracts() == ["layers", "ledger", "integration-acyclic"]
    forbidden = parser["importlinter:contract:ledger"]["forbidden_modules"].split()
    assert {"core.integration", "core.platform", "core.plugins", "core.web", "core.api", "plugins"} <= set(forbidden)
    layers = [line.strip() for line in parser["importlinter:contract:layers"]["layers"].strip().splitlines()]
    assert [layer.split(" : ")[0] for layer in layers] == [
        "core.web", "core.integration", "core.platform", "core.services", "core.models",
    ]


@pytest.mark.parametrize("contract", contracts())
def test_no_module_imports_across_a_contract(contract: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each contract is kept: a new upward import, a ledger import of the integration or a cycle fails here."""
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename=str(CONFIG), limit_to_contracts=(contract,), no_cache=True,
                        no_logo=True) == 0, f"contract {contract} is broken; run `lint-imports` for the details"


def contract_options(name: str) -> dict[str, list[str]]:
    parser = configparser.ConfigParser()
    parser.read(CONFIG)
    section = parser[f"importlinter:contract:{name}"]
    return {key: [line.strip() for line in value.strip().splitlines() if line.strip()]
            for key, value in section.items() if key not in ("name", "type")}


@pytest.mark.parametrize(("importer", "imported", "contract"), [
    ("core.services.stock", "core.integration.outbox", "ledger"),  # the ledger reaching the dispatcher
    ("core.services.transaction", "core.plugins", "ledger"),
    ("core.platform.base", "core.integration.stock_push", "layers"),  # the contract reaching the pipeline
    ("core.models.stock", "core.services.stock", "layers"),
])
def test_an_upward_import_added_to_the_real_graph_breaks_a_contract(importer: str, imported: str, contract: str) -> None:
    """The contracts are not vacuous: the real import graph passes, the same graph with one upward
    import (as a function-level import would add) does not."""
    configuration.configure()
    graph = grimp.build_graph("core", "plugins")
    kind = ForbiddenContract if contract == "ledger" else LayersContract
    checker = kind(name=contract, session_options={"root_packages": ["core", "plugins"]},
                   contract_options=contract_options(contract))
    assert checker.check(graph, verbose=False).kept
    graph.add_import(importer=importer, imported=imported)
    assert not checker.check(graph, verbose=False).kept
