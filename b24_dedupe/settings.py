"""The one place configuration is read: environment variables (and an optional .env).

Read once at start-up by the command that starts a process and passed down; no
other module reads the environment.
"""

from __future__ import annotations

import argparse
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # -- Redis ------------------------------------------------------------------
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis for the queue and audit")
    # Every key this service writes starts with this prefix (constants in b24_dedupe.keys).
    redis_prefix: str = Field("b24dd:", description="prefix of every Redis key of the service")

    # -- Bitrix24 ---------------------------------------------------------------
    b24_webhook_url: SecretStr | None = Field(
        None, description="inbound webhook https://PORTAL/rest/USER_ID/SECRET/ (scope crm)"
    )
    b24_application_token: SecretStr | None = Field(
        None, description="outbound webhook application token(s), comma-separated for rotation"
    )
    b24_rps: float = Field(2.0, description="portal request rate (Enterprise: 5)")
    b24_burst: int = Field(50, description="portal burst (Enterprise: 250)")
    # Automatic batching (b24.client.batching): most commands packed into one request.
    # 1 switches batching off: each call is its own plain request (the naive way, for
    # benchmarks and for diagnosing a portal).
    b24_batch_commands: int = Field(
        50, ge=1, le=50, description="most commands in one batch request; 1 = no batching"
    )
    # A cloud request is cut at 60 s (facts.md, Limits): the default waits past that.
    b24_read_timeout_seconds: float = Field(
        75.0, gt=0, description="longest wait for the portal's answer to one request"
    )

    # -- Ingress ----------------------------------------------------------------
    web_host: str = "0.0.0.0"
    web_port: int = 8080
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

    # -- Logging ----------------------------------------------------------------
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["json", "console"] = "json"

    @field_validator("b24_webhook_url", "b24_application_token", "audit_journal_dir", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``B24_WEBHOOK_URL=`` (as compose files write it) means not set, not an empty URL."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_prefix")
    @classmethod
    def _prefix_ends_with_colon(cls, value: str) -> str:
        return value if value.endswith(":") else value + ":"

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


def settings_or_exit(parser: argparse.ArgumentParser) -> Settings:
    """The settings from the environment; a clear message and exit 2 when they are wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']).upper() or 'settings'}: {error['msg']}"
            for error in exc.errors()
        )
        parser.error(f"bad configuration: {problems}")
