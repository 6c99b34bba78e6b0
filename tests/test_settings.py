"""Settings read from the environment."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pydantic import ValidationError

from b24.client.config import ClientConfig
from b24_dedupe.settings import Settings, configuration_problems

ROOT = Path(__file__).resolve().parent.parent


def test_an_empty_secret_setting_means_not_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B24_WEBHOOK_URL", "")
    monkeypatch.setenv("B24_APPLICATION_TOKEN", "  ")
    settings = Settings(_env_file=None)
    assert settings.b24_webhook_url is None and settings.application_tokens() == []


def _problems(monkeypatch: pytest.MonkeyPatch, **env: str) -> str:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=None)
    return configuration_problems(error.value)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"B24_RPS": "0"}, "B24_RPS: Input should be greater than 0"),
        ({"B24_RPS": "-1"}, "B24_RPS: Input should be greater than 0"),
        ({"B24_BURST": "0"}, "B24_BURST: Input should be greater than or equal to 3"),
        ({"B24_BURST": "1"}, "B24_BURST: Input should be greater than or equal to 3"),
        ({"B24_BURST": "2"}, "B24_BURST: Input should be greater than or equal to 3"),
        ({"DEFAULT_REGION": "XX"}, "DEFAULT_REGION: 'XX' is not a region phone numbers know"),
        ({"DEFAULT_REGION": "Russia"}, "DEFAULT_REGION: 'Russia' is not a region"),
        ({"REDIS_URL": "notaurl"}, "REDIS_URL: not a Redis URL: write redis://HOST:PORT/DB"),
        ({"REDIS_URL": "http://127.0.0.1:6379/0"}, "REDIS_URL: not a Redis URL"),
        ({"REDIS_URL": "redis://h:port/0"}, "REDIS_URL: not a Redis URL (Port could not be cast"),
        ({"REDIS_URL": "redis://h:99999/0"}, "REDIS_URL: not a Redis URL"),
        ({"REDIS_URL": "redis:///0"}, "REDIS_URL: no host"),
        ({"REDIS_URL": "redis://h/zero"}, "REDIS_URL: the database must be a number"),
        ({"WEB_PORT": "70000"}, "WEB_PORT: Input should be less than or equal to 65535"),
        ({"LOG_PERSONAL_DATA": "some"}, "LOG_PERSONAL_DATA: Input should be 'masked' or 'full'"),
        ({"AUDIT_RETENTION_DAYS": "-1"}, "AUDIT_RETENTION_DAYS: Input should be greater than"),
    ],
)
def test_values_the_service_cannot_run_with_are_refused_when_read(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], says: str
) -> None:
    assert says in _problems(monkeypatch, **env)


def test_what_the_client_needs_of_the_burst_is_what_the_settings_ask() -> None:
    # The smallest burst the settings take is the smallest the client's limiter takes.
    smallest = Settings(_env_file=None, b24_burst=ClientConfig.headroom + 1)
    assert smallest.b24_burst == ClientConfig.headroom + 1
    with pytest.raises(ValidationError):
        Settings(_env_file=None, b24_burst=ClientConfig.headroom)


def test_good_values_are_read_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_REGION", "de")
    monkeypatch.setenv("REDIS_URL", " rediss://user:pass@redis.example:6380/3 ")
    settings = Settings(_env_file=None)
    assert settings.default_region == "DE"
    assert settings.redis_url == "rediss://user:pass@redis.example:6380/3"
    assert Settings(_env_file=None, redis_url="unix:///run/redis.sock").redis_url


@pytest.mark.parametrize(
    ("env", "names"),
    [
        (
            {"B24_WEBHOOK_URL": "https://your-portal.bitrix24.com/rest/1/your-webhook-secret/"},
            ["B24_WEBHOOK_URL"],
        ),
        (
            {"B24_WEBHOOK_URL": "https://your.bitrix24.com/rest/1/abc123secret/"},
            ["B24_WEBHOOK_URL"],
        ),
        ({"B24_APPLICATION_TOKEN": "your-application-token"}, ["B24_APPLICATION_TOKEN"]),
        ({"B24_APPLICATION_TOKEN": "real-one, your-application-token"}, ["B24_APPLICATION_TOKEN"]),
    ],
)
def test_the_examples_placeholders_are_refused(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], names: list[str]
) -> None:
    problems = _problems(monkeypatch, **env)
    for name in names:
        assert f"{name}: still the example value from .env.example" in problems


def test_an_unedited_copy_of_env_example_is_refused(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    shutil.copy(ROOT / ".env.example", env_file)
    with pytest.raises(ValidationError) as error:
        Settings(_env_file=env_file)
    problems = configuration_problems(error.value)
    assert "B24_WEBHOOK_URL: still the example value" in problems
    assert "B24_APPLICATION_TOKEN: still the example value" in problems


def test_secrets_from_files_as_docker_secrets_give_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "webhook").write_text("https://real.bitrix24.com/rest/7/s3cr3t-value/\n")
    (tmp_path / "token").write_text("token-one,token-two\n")
    (tmp_path / "redis").write_text("redis://:pw@redis:6379/2\n")
    monkeypatch.delenv("REDIS_URL", raising=False)  # the tests' own, from the environment
    monkeypatch.setenv("B24_WEBHOOK_URL_FILE", str(tmp_path / "webhook"))
    monkeypatch.setenv("B24_APPLICATION_TOKEN_FILE", str(tmp_path / "token"))
    monkeypatch.setenv("REDIS_URL_FILE", str(tmp_path / "redis"))
    settings = Settings(_env_file=None)
    assert settings.b24_webhook_url is not None
    assert settings.b24_webhook_url.get_secret_value() == (
        "https://real.bitrix24.com/rest/7/s3cr3t-value/"
    )
    assert settings.application_tokens() == ["token-one", "token-two"]
    assert settings.redis_url == "redis://:pw@redis:6379/2"
    # Both ways at once is ambiguous; a file that cannot be read is named.
    monkeypatch.setenv("B24_APPLICATION_TOKEN", "another")
    assert "B24_APPLICATION_TOKEN and B24_APPLICATION_TOKEN_FILE are both set" in _problems(
        monkeypatch
    )
    monkeypatch.delenv("B24_APPLICATION_TOKEN")
    monkeypatch.setenv("REDIS_URL_FILE", str(tmp_path / "missing"))
    assert f"REDIS_URL_FILE {tmp_path / 'missing'}: No such file or directory" in _problems(
        monkeypatch
    )
    # A placeholder in a file is one all the same.
    (tmp_path / "token").write_text("your-application-token\n")
    monkeypatch.setenv("REDIS_URL_FILE", str(tmp_path / "redis"))
    assert "B24_APPLICATION_TOKEN: still the example value" in _problems(monkeypatch)
