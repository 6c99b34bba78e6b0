"""The one place configuration is read: environment variables (and an optional .env).

Read once at start-up by the command that starts a process and passed down; no
other module reads the environment.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Literal, NoReturn
from urllib.parse import urlsplit

import phonenumbers
from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio.connection import parse_url

from b24.client.config import ClientConfig

# The values .env.example ships with: an unedited copy must not run against them.
# (README.md's example is refused too.)
PLACEHOLDER_HOSTS = frozenset({"your-portal.bitrix24.com", "your.bitrix24.com"})
PLACEHOLDER_SECRETS = frozenset({"your-webhook-secret", "abc123secret", "your-application-token"})
# Settings that may be given as a file instead (``B24_WEBHOOK_URL_FILE=/run/secrets/...``),
# as Docker secrets are.
FILE_SETTINGS = ("redis_url", "b24_webhook_url", "b24_application_token", "review_password")
# The client keeps this many requests below the portal's burst (b24.client.config).
_MIN_BURST = ClientConfig.headroom + 1


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # -- Redis ------------------------------------------------------------------
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis for the queue and audit")
    redis_url_file: str | None = Field(
        None, description="a file holding REDIS_URL (a Docker secret), instead of REDIS_URL"
    )
    # Every key this service writes starts with this prefix (constants in b24_dedupe.keys).
    redis_prefix: str = Field("b24dd:", description="prefix of every Redis key of the service")

    # -- Bitrix24 ---------------------------------------------------------------
    b24_webhook_url: SecretStr | None = Field(
        None, description="inbound webhook https://PORTAL/rest/USER_ID/SECRET/ (scope crm)"
    )
    b24_application_token: SecretStr | None = Field(
        None, description="outbound webhook application token(s), comma-separated for rotation"
    )
    b24_webhook_url_file: str | None = Field(
        None, description="a file holding B24_WEBHOOK_URL (a Docker secret), instead of it"
    )
    b24_application_token_file: str | None = Field(
        None, description="a file holding B24_APPLICATION_TOKEN (a Docker secret), instead of it"
    )
    b24_rps: float = Field(2.0, gt=0, description="portal request rate (Enterprise: 5)")
    b24_burst: int = Field(50, ge=_MIN_BURST, description="portal burst (Enterprise: 250)")
    # Automatic batching (b24.client.batching): most commands packed into one request.
    # 1 switches batching off: each call is its own plain request (the naive way, for
    # benchmarks and for diagnosing a portal).
    b24_batch_commands: int = Field(
        50, ge=1, le=50, description="most commands in one batch request; 1 = no batching"
    )
    # A cloud portal cuts a request at 60 s (b24.client.config.REQUEST_TIME_LIMIT): the
    # default waits past that.
    b24_read_timeout_seconds: float = Field(
        75.0, gt=0, description="longest wait for the portal's answer to one request"
    )
    # Bitrix24's merger compares names through the portal language's transliteration
    # table (ru: Cyrillic to Latin; en: none), so its verdict depends on it.
    portal_language: Literal["ru", "en"] = Field(
        "ru", description="the portal's language (ru or en): how Bitrix24 compares names"
    )

    # -- Ingress ----------------------------------------------------------------
    web_host: str = "0.0.0.0"
    web_port: int = Field(8080, ge=0, le=65535)
    debounce_seconds: float = Field(
        2.0, ge=0, description="events for one record within this window become one job"
    )
    max_body_bytes: int = Field(8192, ge=512, description="largest event body accepted")

    # -- Worker -----------------------------------------------------------------
    merge_mode: Literal["auto", "dry-run"] = Field(
        "auto", description="auto merges; dry-run decides and records but never merges"
    )
    default_region: str = Field("RU", description="region for phones written without +country")
    generic_mailboxes: str = Field(
        "info,sales,office,noreply,no-reply,support,admin,hello,contact,mail,team",
        description="e-mail local parts that are never evidence (comma-separated)",
    )
    shared_numbers: str = Field(
        "", description="phone numbers that are never evidence (comma-sep.)"
    )
    max_group_size: int = Field(5, ge=2, description="most records merged into one")
    survivor: Literal["oldest", "newest", "most_complete"] = Field(
        "oldest", description="which record of a group survives a merge"
    )
    merge_rules_file: str | None = Field(
        None, description="TOML file of field rules: which value wins when records differ"
    )
    identity_fields: str = Field(
        "", description="further fields that must not differ for a merge (comma-separated)"
    )
    worker_concurrency: int = Field(
        50, ge=1, description="jobs one worker process runs at once (more fill batches better)"
    )
    job_timeout_seconds: float = Field(300, gt=0, description="longest a job may run")
    job_max_tries: int = Field(8, ge=1, description="tries of a job that meets transient faults")
    audit_journal_dir: str | None = Field(
        None, description="directory of an fsync'd JSON-lines copy of merge audit entries"
    )
    scan_interval_seconds: float = Field(
        300, ge=10, description="how often the recovery scan looks for changes no event brought"
    )
    # A file the worker touches every few seconds while it runs jobs (compose's health check:
    # `b24-dedupe worker --check-alive`).
    worker_alive_file: str | None = Field(
        None, description="file a running worker touches every few seconds (health checks)"
    )

    # -- Audit retention (b24_dedupe.audit) ----------------------------------------
    audit_retention_days: float = Field(
        180, ge=0, description="days an entry without a merge is kept (0: for ever)"
    )
    audit_merge_retention_days: float = Field(
        0,
        ge=0,
        description="days a merge's entry (the records' state restore needs) is kept (0: for ever)",
    )

    # -- The review page (b24-dedupe review; review_web) ----------------------------
    # Never on the ingress's public port: loopback by default, behind a reverse proxy
    # with TLS otherwise (docs/operations.md).
    review_password: SecretStr | None = Field(
        None, description="password of the review page; it refuses to start without one"
    )
    review_password_file: str | None = Field(
        None, description="a file holding REVIEW_PASSWORD (a Docker secret), instead of it"
    )
    review_host: str = Field(
        "127.0.0.1", description="address of the review page (loopback unless told otherwise)"
    )
    review_port: int = Field(8081, ge=0, le=65535, description="port of the review page")
    review_trusted_proxies: str = Field(
        "",
        description="reverse proxies (addresses or networks, comma-separated) whose "
        "X-Forwarded-Proto and X-Forwarded-For the review page believes",
    )
    review_session_hours: float = Field(
        12, gt=0, description="how long a login to the review page lasts, in hours"
    )
    review_action_timeout_seconds: float = Field(
        120, gt=0, description="longest the review page waits for a worker to carry out an action"
    )

    # -- Logging ----------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"
    # Phones and e-mails in log lines: masked (``+7•••••••4567``, ``i•••@example.com``) or full.
    log_personal_data: Literal["masked", "full"] = Field(
        "masked", description="phones and e-mails in logs: masked or full"
    )

    @field_validator(
        "b24_webhook_url",
        "b24_application_token",
        "review_password",
        "audit_journal_dir",
        "merge_rules_file",
        "worker_alive_file",
        *(f"{name}_file" for name in FILE_SETTINGS),
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``B24_WEBHOOK_URL=`` (as compose files write it) means not set, not an empty URL."""
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="before")
    @classmethod
    def _secrets_from_files(cls, data: Any) -> Any:
        """``B24_WEBHOOK_URL_FILE=/run/secrets/b24_webhook_url``: the value is the file's
        content, trailing newline removed (Docker secrets). Both at once is an error."""
        if not isinstance(data, dict):
            return data
        for name in FILE_SETTINGS:
            path = data.get(f"{name}_file")
            if not isinstance(path, str) or not path.strip():
                continue
            if isinstance(data.get(name), str) and data[name].strip():
                raise ValueError(
                    f"{name.upper()} and {name.upper()}_FILE are both set: keep one of them"
                )
            try:
                data[name] = Path(path.strip()).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
                raise ValueError(f"{name.upper()}_FILE {path.strip()}: {reason}") from None
        return data

    @field_validator("redis_prefix")
    @classmethod
    def _prefix_ends_with_colon(cls, value: str) -> str:
        return value if value.endswith(":") else value + ":"

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str) -> str:
        """A URL redis-py and arq both read: redis://, rediss:// or unix://, a numeric DB."""
        value = value.strip()
        expected = "write redis://HOST:PORT/DB (rediss:// for TLS, unix:///PATH for a socket)"
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix"):
            raise ValueError(f"not a Redis URL: {expected}")
        try:
            parse_url(value)
            parts.port  # noqa: B018 - raises on a port out of range
        except ValueError as exc:
            raise ValueError(f"not a Redis URL ({exc}): {expected}") from None
        if parts.scheme != "unix":
            if not parts.hostname:
                raise ValueError(f"no host: {expected}")
            database = parts.path.strip("/")
            if database and not database.isdigit():
                raise ValueError(f"the database must be a number, not {database!r}: {expected}")
        return value

    @field_validator("default_region")
    @classmethod
    def _region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(
                f"{value!r} is not a region phone numbers know: an ISO 3166 code such as "
                "RU, DE, US or KZ"
            )
        return region

    @field_validator("b24_webhook_url", "b24_application_token")
    @classmethod
    def _not_a_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        """An unedited copy of .env.example must not run against its example values."""
        if value is None:
            return None
        text = value.get_secret_value().strip()
        parts = urlsplit(text)
        host = (parts.hostname or "") if "://" in text else ""
        words = {host, *parts.path.split("/"), *(t.strip() for t in text.split(","))}
        if host in PLACEHOLDER_HOSTS or words & PLACEHOLDER_SECRETS:
            raise ValueError(
                "still the example value from .env.example: set it to your own "
                "(README.md, Setting up Bitrix24), or remove the line"
            )
        return value

    @staticmethod
    def _csv(raw: str) -> list[str]:
        return [item.strip() for item in raw.split(",") if item.strip()]

    def generic_mailbox_list(self) -> list[str]:
        return [item.lower() for item in self._csv(self.generic_mailboxes)]

    def shared_number_list(self) -> list[str]:
        return self._csv(self.shared_numbers)

    def identity_field_list(self) -> list[str]:
        return [item.upper() for item in self._csv(self.identity_fields)]

    def application_tokens(self) -> list[str]:
        if self.b24_application_token is None:
            return []
        raw = self.b24_application_token.get_secret_value()
        return [token.strip() for token in raw.split(",") if token.strip()]


def exit_with(parser: argparse.ArgumentParser, message: str, code: int = 2) -> NoReturn:
    """End the command with one line on stderr (``b24-dedupe doctor: error: ...``) and
    ``code``: for what is wrong with the configuration or the request, not its syntax
    (argparse's own errors add the usage)."""
    text = " ".join(message.split())
    parser.exit(code, f"{parser.prog}: error: {text}\n")


def configuration_problems(exc: ValidationError) -> str:
    """``B24_RPS: Input should be greater than 0; REDIS_URL: ...``."""
    problems = []
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"]).upper()
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{name}: {message}" if name else message)
    return "; ".join(problems)


def settings_or_exit(parser: argparse.ArgumentParser) -> Settings:
    """The settings from the environment; a clear message and exit 2 when they are wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        exit_with(parser, f"bad configuration: {configuration_problems(exc)}")
