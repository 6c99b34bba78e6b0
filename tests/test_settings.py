"""Settings read from the environment."""

from __future__ import annotations

import pytest

from b24_dedupe.settings import Settings


def test_an_empty_secret_setting_means_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B24_WEBHOOK_URL", "")
    monkeypatch.setenv("B24_APPLICATION_TOKEN", "  ")
    settings = Settings(_env_file=None)
    assert settings.b24_webhook_url is None and settings.application_tokens() == []
