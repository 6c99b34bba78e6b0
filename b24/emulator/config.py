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
    """How the emulated portal behaves.

    Defaults follow the Bitrix24 source where it was read (docs/emulator.md, "Which
    Bitrix24 rules it follows"), else the public docs.
    """

    secret: str = "secret"
    user_id: int = 1
    # Leaky bucket: drains ``rps`` per second, refuses past ``burst`` (docs:limits).
    rps: float = 2.0
    burst: int = 50
    # Operating limit (loadlimiter.php:24-27): seconds of execution per method (and
    # webhook) in a sliding 10 minutes of ten buckets. The source's default is 420 s;
    # the cloud may set another per portal (the docs' example shows 480).
    operating_limit: float = 420.0
    operating_window: float = 600.0
    # A request's calls of one method count only when they sum over this (loadlimiter.php:
    # 27,312-353); the check before a call adds this request's earlier calls that each
    # took longer (:272-305).
    operating_min_charge: float = 0.1
    # A call that ends in an error is not counted: the time is registered after the
    # handler returns, not when it throws (rest.php:268-280). True counts it anyway.
    operating_count_errors: bool = False
    # Whose budget a batch command spends. "webhook": the same as a direct call of the
    # method (docs:limits). "shared": one budget for batch commands of all webhooks, apart
    # from direct calls (rest_provider.php:328-336 passes no password id; docs/emulator.md
    # section 5 marks it an inference). "webhook" is the stricter of the two.
    operating_batch_key: str = "webhook"
    # More than 50 batch commands: "source" runs the first 50 and answers each further
    # command ERROR_BATCH_LENGTH_EXCEEDED in result_error, HTTP 200 (rest_provider.php:
    # 283-362); "docs" refuses the whole batch with HTTP 400 (docs: batch).
    batch_over_limit: str = "source"
    method_times: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_METHOD_TIMES))
    default_method_time: float = DEFAULT_METHOD_TIME
    # Inference: a cloud request is cut at 60 s (docs:limits). When the simulated time of
    # one request passes this, the rest of a batch is not run and the answer is a 504:
    # what was done stays done, as when a real request times out at the proxy.
    request_time_limit: float = 60.0
    # Sleep for the simulated time instead of only accounting it (off: tests stay fast).
    realtime: bool = False
    # Outbound events (Bitrix24 REST docs: outbound webhooks).
    events_url: str | None = None
    application_token: str = ""
    event_handler_id: int = 1
    # The portal's name as events carry it in ``auth[domain]``; defaults to host:port.
    domain: str | None = None
    member_id: str = "a223c6b3710f85df22e9377d6c4f7553"
    # Portal time zone for DATE_CREATE/DATE_MODIFY, as "+03:00".
    utc_offset: str = "+03:00"
    # findbycomm (restservice.php:10022-10058): at most 20 distinct values are looked
    # at, the rest ignored without a word ("ignore", the source). "error" answers 400
    # past ``findbycomm_max_values`` instead (the emulator's old reading of the docs'
    # "Maximum number of values — 20").
    findbycomm_max_values: int = 20
    findbycomm_over_limit: str = "ignore"
    # findbycomm: index rows read per value, all types together unless ENTITY_TYPE is
    # given (restservice.php:10047: find($entityTypeID, 20)).
    findbycomm_rows_per_value: int = 20
    # findbycomm errors: "source" answers {"error": "", "error_description": "Communication
    # type is not defined."} (RestException without a code, restservice.php:9991-10017);
    # "docs" answers the docs' example, the message as the code.
    findbycomm_errors: str = "source"
    # The portal's language (LANGUAGE_ID): it picks the transliteration table of the
    # name rule (namefield.php:129-157; "en" has an empty table), the placeholder names
    # that count as empty and the date format of joined text fields. "ru" or "en".
    language: str = "ru"
    # mergeBatch: a seed id given twice (``[5, 6, 6]``) is deleted twice by the merger
    # (entitymerger.php:353-364 keeps repeats, 482-485 deletes each): the second delete
    # fails, so the merge is done but answers ERROR ("source"). "drop" ignores repeats.
    merge_repeated_seed: str = "source"
    # mergeBatch: a link field (lead COMPANY_ID) holding 0 counts as a value and so
    # conflicts with another company (entitymerger.php:1449-1483 tests only isset for
    # crm_* types; docs/emulator.md marks it an inference).
    merge_zero_link_is_value: bool = True
    # mergeBatch: the date in the separator of joined text fields (textfield.php:46-62),
    # as a strftime format; None takes the portal language's short date and time.
    merge_separator_date_format: str | None = None
    # mergeBatch: records that point at a deleted seed (a lead's CONTACT_ID or COMPANY_ID,
    # a contact's COMPANY_ID) are re-pointed at the survivor, without an event (the
    # merger's rebind, contactmerger.php:266-305, companymerger.php:284-327). This scans
    # every lead/contact once per contact or company merge; a very large portal may
    # switch it off.
    merge_rebind_children: bool = True
    # mergeBatch: differing UTM values conflict: they are strings loaded with the record
    # (utm.php:283-318; docs/emulator.md marks it an inference). False skips them.
    merge_compare_utm: bool = True
    # mergeBatch: the survivor's update runs, and so fires ONCRM…UPDATE and takes a fresh
    # DATE_MODIFY, even when no field changed (entitymerger.php:473-476; docs/emulator.md
    # section 3 marks it an inference). False skips an update that changes nothing.
    merge_update_unchanged: bool = True
    # mergeBatch: records re-pointed at the survivor get no event (the merger rewrites
    # binding tables; docs/emulator.md: no ONCRMDEALUPDATE expected, an
    # inference). True sends an UPDATE for each.
    merge_rebind_events: bool = False
    # OVERLOAD_LIMIT (an injected fault): the docs answer 503; the source's OAuth error
    # path defaults to 401 (oauthexception.php:14-25; docs/emulator.md: which
    # one the cloud sends is unconfirmed).
    overload_status: int = 503
    # volatileType: at most 7 registered fields in all (docs).
    volatile_max_types: int = 7
    list_page_size: int = 50
