"""The OpenAPI document describes every /api/v1 route from the same schemas the API uses."""
from core.api.openapi import openapi_path


def test_every_api_rule_and_method_is_in_the_document(app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1")]
    assert len(rules) > 30
    for rule in rules:
        described = paths[openapi_path(rule)]
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in described, f"{method} {rule.rule} is not documented"


def test_document_is_openapi_3_with_bearer_auth_and_schemas(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    assert doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    post = doc["paths"]["/api/v1/invoices"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/InvoiceCreate")
    assert {"201", "401", "403", "409", "422"} <= set(post["responses"])
    line = doc["components"]["schemas"]["InvoiceLineCreate"]
    assert line["properties"]["quantity"]["type"] == "string"
    assert set(line["required"]) == {"product_id", "quantity", "unit_price"}
    assert doc["paths"]["/api/v1/openapi.json"]["get"]["security"] == []


def test_list_responses_describe_the_page_envelope(client):
    doc = client.get("/api/v1/openapi.json").get_json()
    ok = doc["paths"]["/api/v1/products"]["get"]["responses"]["200"]
    page = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert set(doc["components"]["schemas"][page]["properties"]) == {"items", "page", "per_page", "total", "pages"}
    params = {p["name"] for p in doc["paths"]["/api/v1/products"]["get"]["parameters"]}
    assert {"page", "per_page", "q"} <= params


def test_every_error_status_the_api_answers_is_documented(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    create = spec["paths"]["/api/v1/invoices"]["post"]["responses"]
    assert {"400", "401", "403", "404", "405", "409", "413", "422", "429"} <= set(create)
    assert {"400", "405"} <= set(spec["paths"]["/api/v1/openapi.json"]["get"]["responses"])


def test_partial_updates_document_no_required_fields(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    body = spec["paths"]["/api/v1/company"]["put"]["requestBody"]["content"]["application/json"]["schema"]
    name = body["$ref"].rsplit("/", 1)[-1]
    assert "required" not in spec["components"]["schemas"][name]
