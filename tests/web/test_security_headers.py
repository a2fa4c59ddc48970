"""Security headers on pages, API and webhook answers; templates that a self-only CSP does not break."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.web.integration_fixtures import *  # noqa: F403  (the fixtures sign_in and dummy_shop)

TEMPLATES = Path(__file__).resolve().parents[2] / "core" / "templates"
EXPECTED = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def _assert_secured(response) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.request.path)
    policy = response.headers.get("Content-Security-Policy", "")
    for directive in ("default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'",
                      "object-src 'none'"):
        assert directive in policy, directive
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_pages_api_webhooks_errors_and_static_files_carry_the_security_headers(app, web, api, dummy_shop):
    viewer = web("viewer")
    for response in (
        app.test_client().get("/login"),
        viewer.get("/"),
        viewer.get("/no-such-page"),
        app.test_client().get("/static/mizan.css"),
        api.get("/products"),
        api.get("/products", role=None),  # 401
        app.test_client().post(f"/webhooks/{dummy_shop.key}", data=b"{}"),  # unsigned: refused
        app.test_client().post("/webhooks/mzs_unknown", data=b"{}"),
    ):
        _assert_secured(response)


def test_hsts_is_sent_only_when_the_public_url_is_https(app, monkeypatch):
    assert "Strict-Transport-Security" not in app.test_client().get("/login").headers
    monkeypatch.setitem(app.config, "PUBLIC_URL", "https://erp.example.com")
    assert app.test_client().get("/login").headers["Strict-Transport-Security"].startswith("max-age=")


INLINE = [
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an inline event handler"),
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "an inline script"),
    (re.compile(r"<style", re.I), "a <style> element"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
]


@pytest.mark.parametrize("template", sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.html")))
def test_templates_have_no_inline_script_or_style_the_csp_would_block(template):
    text = (TEMPLATES / template).read_text(encoding="utf-8")
    found = [what for pattern, what in INLINE if pattern.search(text)]
    assert not found, f"{template} has {', '.join(found)}: move it to mizan.js / mizan.css"
