"""CSRF on every unsafe route, security headers, no inline script or style, settings guard."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from starlette.routing import Route

from fair import settings
from fair.enums import Role
from tests import factories as f
from tests.conftest import login

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


async def test_every_unsafe_route_refuses_a_missing_or_forged_token(app, client, session):  # type: ignore[no-untyped-def]
    admin = await f.user(session, Role.ADMIN)
    from fair import db

    await db.commit(session)
    await login(client, admin.email, f.PASSWORD)
    unsafe = [r for r in app.routes if isinstance(r, Route) and r.methods and "POST" in r.methods]
    assert len(unsafe) >= 15
    for route in unsafe:
        path = re.sub(r"\{(\w+):int\}", "1", route.path)
        path = re.sub(r"\{(\w+)\}", "token", path)
        for data in ({}, {"csrf_token": "forged"}):
            response = await client.post(path, data=data, headers={"accept": "application/json"})
            assert (response.status_code, response.json()["error"]["code"]) == (
                403,
                "csrf.invalid",
            ), path


async def test_security_headers(client):  # type: ignore[no-untyped-def]
    response = await client.get("/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"
    cookie = response.headers.get("set-cookie", "")
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


def test_templates_have_no_inline_script_or_style():
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        assert " style=" not in text, path
        assert "<style" not in text, path
        for tag in re.findall(r"<script[^>]*>", text):
            assert 'type="application/ld+json"' in tag or "src=" in tag, (path, tag)
        assert not re.search(r"\son[a-z]+=", text), path  # no inline event handlers


def test_production_refuses_the_default_secret():
    with pytest.raises(settings.SettingsError) as caught:
        settings.load({"FAIR_ENV": "production"})
    assert "SECRET_KEY" in str(caught.value)
    assert settings.load({"FAIR_ENV": "production", "SECRET_KEY": "x" * 40}).production


def test_bad_urls_are_refused_with_a_clear_message():
    with pytest.raises(settings.SettingsError, match="DATABASE_URL"):
        settings.load({"DATABASE_URL": "mysql://x"})
    with pytest.raises(settings.SettingsError, match="BROADCAST_URL"):
        settings.load({"BROADCAST_URL": "kafka://x"})
