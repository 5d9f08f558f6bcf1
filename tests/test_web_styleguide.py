"""The design system's example page: served when the `styleguide` setting is on (development's
default), 404 otherwise; production refuses the setting."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from fair import settings


async def test_served_when_enabled(client, conf):  # type: ignore[no-untyped-def]
    settings.override(replace(conf, styleguide=True))
    client.cookies.set("lang", "en")
    response = await client.get("/styleguide")
    assert response.status_code == 200
    page = response.text
    assert re.findall(r"<h1[^>]*>(.*?)</h1>", page) == ["Design system"]
    for marker in (
        'class="page-header"',
        '<button type="button" class="secondary">Save as a draft</button>',
        '<button type="button" class="danger">Delete</button>',
        '<span class="badge ok">Staffed now</span>',
        '<div class="alert warn">',
        '<div class="flash" data-toasts><div class="flash-live" role="status" data-toasts-live>'
        '</div><p class="alert ok" data-toast>Your profile was saved.</p></div>',
        '<div class="empty">',
        'class="filters" aria-label="Filters"',
        'class="table-wrap stacks" role="region"',
        '<dl class="stats">',
        "data-error-summary",
    ):
        assert marker in page, marker


async def test_not_found_when_disabled(client, conf):  # type: ignore[no-untyped-def]
    assert conf.styleguide is False  # FAIR_ENV=test
    response = await client.get("/styleguide")
    assert response.status_code == 404


def test_setting_defaults() -> None:
    assert settings.load({"FAIR_ENV": "development"}).styleguide is True
    assert settings.load({"FAIR_ENV": "test"}).styleguide is False
    assert settings.load({"FAIR_ENV": "test", "FAIR_STYLEGUIDE": "on"}).styleguide is True
    assert settings.load({"FAIR_ENV": "development", "FAIR_STYLEGUIDE": "off"}).styleguide is False
    secret = "x" * 40
    assert settings.load({"FAIR_ENV": "production", "SECRET_KEY": secret}).styleguide is False
    with pytest.raises(settings.SettingsError, match="FAIR_STYLEGUIDE"):
        settings.load({"FAIR_ENV": "production", "SECRET_KEY": secret, "FAIR_STYLEGUIDE": "on"})
