"""Everything about the emulated portal that can be chosen at start."""

from __future__ import annotations

from dataclasses import dataclass, field

# Simulated execution time per method, in seconds, counted against the operating
# limit and reported as ``time.processing``. The docs' examples give about 2 s for
# crm.entity.mergeBatch and 0.25 s for volatileType.register; small reads take a few
# hundredths. Keys are lower case, as method names are case-insensitive.
DEFAULT_METHOD_TIMES: dict[str, float] = {
    "crm.entity.mergebatch": 2.0,
    "crm.duplicate.volatiletype.register": 0.25,
    "crm.duplicate.findbycomm": 0.02,
}
DEFAULT_METHOD_TIME = 0.005


@dataclass
class EmulatorConfig:
    """How the emulated portal behaves. Defaults follow the docs (facts.md, Limits)."""

    secret: str = "secret"
    user_id: int = 1
    # Leaky bucket: drains ``rps`` per second, refuses past ``burst`` (docs:limits).
    rps: float = 2.0
    burst: int = 50
    # Operating limit: seconds of execution per method in a sliding 10 minutes.
    operating_limit: float = 480.0
    operating_window: float = 600.0
    method_times: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_METHOD_TIMES))
    default_method_time: float = DEFAULT_METHOD_TIME
    # Inference: a cloud request is cut at 60 s (docs:limits). When the simulated time of
    # one request passes this, the rest of a batch is not run and the answer is a 504:
    # what was done stays done, as when a real request times out at the proxy.
    request_time_limit: float = 60.0
    # Sleep for the simulated time instead of only accounting it (off: tests stay fast).
    realtime: bool = False
    # Outbound events (facts.md, "Outbound events").
    events_url: str | None = None
    application_token: str = ""
    event_handler_id: int = 1
    # The portal's name as events carry it in ``auth[domain]``; defaults to host:port.
    domain: str | None = None
    member_id: str = "a223c6b3710f85df22e9377d6c4f7553"
    # Portal time zone for DATE_CREATE/DATE_MODIFY, as "+03:00".
    utc_offset: str = "+03:00"
    # findbycomm: the docs say "Maximum number of values — 20" without naming the
    # answer past it. Chosen: a 400 error (the stricter reading); "truncate" keeps the
    # first 20 silently.
    findbycomm_max_values: int = 20
    findbycomm_over_limit: str = "error"
    # findbycomm: a type with this many matches or more hides the types after it (docs).
    findbycomm_hide_threshold: int = 20
    # mergeBatch: fields in which a difference is not a conflict; the survivor's value
    # is kept. Docs silent: the responsible user and visibility are treated like this
    # because the merge form pre-selects the primary's value for them.
    merge_survivor_fields: frozenset[str] = frozenset({"ASSIGNED_BY_ID", "OPENED"})
    # volatileType: at most 7 registered fields in all (docs).
    volatile_max_types: int = 7
    list_page_size: int = 50
