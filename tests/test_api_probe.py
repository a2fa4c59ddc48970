"""A bounded schemathesis run against the OpenAPI document: no 5xx and every answer as documented."""
from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.extensions import db
from core.integration import connections
from core.plugins import registry
from core.testing.dummy import DummyStore

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
#: Examples per operation: schema-valid, schema-invalid, and schema-valid aimed at rows that exist.
EXAMPLES = {"positive": 3, "negative": 3, "known": 2}
#: Nothing is excluded: no operation revokes the probe's token or stops the server.
EXCLUDED: set[str] = set()


@pytest.fixture
def probed(app, api, shop) -> dict[str, Any]:
    """Master data, an active dummy store and a posted invoice, so known ids lead somewhere."""
    DummyStore.reset()
    with app.app_context():
        registry().install("dummy")
        registry().enable("dummy")
        store, key = connections.create_store("dummy", "Probe shop")
        connections.set_credentials(store.id, {"store_ref": "probe", "secret": "probe-secret-value"})
        connections.activate(store.id, key)
        db.session.remove()
    invoice = api.post("/invoices", {
        "client_id": shop.client, "branch_id": shop.branch, "warehouse_id": shop.warehouse, "status": "paid",
        "lines": [{"product_id": shop.mug, "quantity": "1", "unit_price": "25.00"}],
    })
    assert invoice.status_code == 201, invoice.get_json()
    return {"Authorization": f"Bearer {api.tokens['admin']}"}


class Tally:
    """What the probe sent and what went wrong, per operation and check."""

    def __init__(self) -> None:
        self.requests = 0
        self.statuses: Counter[int] = Counter()
        self.failures: dict[str, str] = {}

    def run(self, case: schemathesis.Case, headers: dict[str, str]) -> None:
        response = case.call(headers=headers)
        self.requests += 1
        self.statuses[response.status_code] += 1
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except (Exception, FailureGroup) as failure:  # every failure is collected, then reported at once
            key = f"{case.operation.label}: {type(failure).__name__}"
            self.failures.setdefault(key, f"{failure}\n{case.as_curl_command(headers)}"[:3000])


def known_ids(operation: Any) -> dict[str, Any]:
    """Path parameters that name existing rows (ids 1) and the enabled dummy plugin."""
    return {p.name: ("dummy" if p.name == "name" else 1) for p in operation.path_parameters}


def probe(operation: Any, tally: Tally, headers: dict[str, str], mode: str, examples: int) -> None:
    generation = GenerationMode.NEGATIVE if mode == "negative" else GenerationMode.POSITIVE
    fixed = known_ids(operation) if mode == "known" else None
    strategy = operation.as_strategy(generation_mode=generation, path_parameters=fixed)

    @given(case=strategy)
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def send(case: schemathesis.Case) -> None:
        tally.run(case, headers)

    send()


@pytest.mark.slow
def test_every_generated_request_is_answered_as_documented_without_server_errors(app, probed):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in EXCLUDED:
            continue
        for mode, examples in EXAMPLES.items():
            if mode == "known" and not operation.path_parameters:
                continue
            probe(operation, tally, probed, mode, examples)
    print(f"\nprobe: {tally.requests} requests, statuses {dict(sorted(tally.statuses.items()))}, "
          f"{len(tally.failures)} failures")
    assert tally.requests >= 300
    assert not [s for s in tally.statuses if s >= 500], tally.failures
    assert not tally.failures, "\n\n".join(f"{k}\n{v}" for k, v in sorted(tally.failures.items()))
