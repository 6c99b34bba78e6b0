"""StringField (sheet 2.3), the joined TextField/HtmlField (2.5) and company TITLE.

Each case: (name, entity, records, status, expected merged fields, options); the first
record is the survivor; the comment gives the source line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from b24.crm import MergeStatus
from tests.predict import COMPANY, CONTACT, LEAD, SEP_HTML, SEP_TEXT, check, predict, rec

SUCCESS, CONFLICT, ERROR = MergeStatus.SUCCESS, MergeStatus.CONFLICT, MergeStatus.ERROR

Case = tuple[str, Any, list[dict[str, Any]], str, dict[str, Any], dict[str, Any]]

# fmt: off
CASES: list[Case] = [
    # stringfield.php:18-21 (base.php:100-103) — loose ==: "01" == "1", the target stays
    ("post_numeric_loose", CONTACT, [rec(1, POST="01"), rec(2, POST="1")],
     SUCCESS, {"POST": "01"}, {}),
    # stringfield.php:16-48 — steps add up: "  ООО Ромашка. " ~ "ооо  ромашка"; the
    # target keeps its own raw spelling
    ("cumulative_steps", CONTACT, [rec(1, POST="  ООО Ромашка. "), rec(2, POST="ооо  ромашка")],
     SUCCESS, {"POST": "  ООО Ромашка. "}, {}),
    # stringfield.php:139-148 — the lower-case target does not take an unclean seed
    ("lower_target_unclean_seed", CONTACT,
     [rec(1, POST="ооо  ромашка"), rec(2, POST="  ООО Ромашка. ")],
     SUCCESS, {"POST": "ооо  ромашка"}, {}),
    # stringfield.php:99-117 — a clean seed's collapsed form replaces the target
    ("clean_seed_spaces", CONTACT, [rec(1, POST="ООО  Ромашка"), rec(2, POST="ООО Ромашка")],
     SUCCESS, {"POST": "ООО Ромашка"}, {}),
    # stringfield.php:150-153 — only ASCII spaces collapse, a tab does not
    ("tab_not_collapsed", CONTACT, [rec(1, POST="Sales\tManager"), rec(2, POST="Sales Manager")],
     CONFLICT, {"POST": "Sales\tManager"}, {}),
    # stringfield.php:150-153 — nor does a no-break space
    ("nbsp_not_collapsed", CONTACT,
     [rec(1, POST="Sales\u00a0Manager"), rec(2, POST="Sales Manager")], CONFLICT, {}, {}),
    # stringfield.php:85-88 — a seed of only dots is ignored
    ("seed_only_dots", CONTACT, [rec(1, POST="Manager"), rec(2, POST="...")],
     SUCCESS, {"POST": "Manager"}, {}),
    # stringfield.php:90-94 — a target of only dots takes the seed's original
    ("target_only_dots", CONTACT, [rec(1, POST=" ..."), rec(2, POST=" Manager")],
     SUCCESS, {"POST": " Manager"}, {}),
    # stringfield.php:67-78 — trim runs before the dots go, so ". ." keeps ". " and refuses
    ("target_dot_space_dot", CONTACT, [rec(1, POST=". ."), rec(2, POST="Manager")],
     CONFLICT, {"POST": ". ."}, {}),
    # sheet 2.3 (no substring rule outside names): different strings conflict
    ("post_differs", CONTACT, [rec(1, POST="Manager"), rec(2, POST="Sales Manager")],
     CONFLICT, {"POST": "Manager"}, {}),
    # utm.php:283-318 — UTM fields are StringFields: different values conflict (inference)
    ("utm_differs", CONTACT, [rec(1, UTM_SOURCE="google"), rec(2, UTM_SOURCE="yandex")],
     CONFLICT, {}, {}),
    # entitymerger.php:1611-1613 — an address part in another case merges
    ("address_case", CONTACT, [rec(1, ADDRESS_CITY="москва"), rec(2, ADDRESS_CITY="Москва")],
     SUCCESS, {"ADDRESS_CITY": "Москва"}, {}),
    # companymerger.php:434-437 — company TITLE: case differences merge
    ("company_title_case", COMPANY, [rec(1, TITLE="ООО Ромашка"), rec(2, TITLE="ооо ромашка")],
     SUCCESS, {"TITLE": "ООО Ромашка"}, {}),
    # companymerger.php:434-437 — no substring rule for company TITLE
    ("company_title_substring", COMPANY, [rec(1, TITLE="Ромашка"), rec(2, TITLE="ООО Ромашка")],
     CONFLICT, {"TITLE": "Ромашка"}, {}),
    # companymerger.php:434-437 — no transliteration either
    ("company_title_translit", COMPANY, [rec(1, TITLE="Romashka"), rec(2, TITLE="Ромашка")],
     CONFLICT, {}, {}),
    # companymerger.php:451-467 — the placeholder title counts as empty
    ("company_title_placeholder", COMPANY, [rec(1, TITLE="Без названия"), rec(2, TITLE="Ромашка")],
     SUCCESS, {"TITLE": "Ромашка"}, {}),
    # companymerger.php:451-467 — en placeholder "company"
    ("company_title_placeholder_en", COMPANY, [rec(1, TITLE="company"), rec(2, TITLE="Acme")],
     SUCCESS, {"TITLE": "Acme"}, {"language": "en"}),
    # stringfield.php:26-30 — a placeholder passed as the placeholders choice
    ("company_title_custom_placeholder", COMPANY, [rec(1, TITLE="Acme"), rec(2, TITLE="TBD")],
     SUCCESS, {"TITLE": "Acme"}, {"placeholders": ["TBD"]}),
    # leadmerger.php:124-126 — lead TITLE is ignored: the survivor keeps its own
    ("lead_title_ignored", LEAD, [rec(1, TITLE="Lead #1"), rec(2, TITLE="Website order")],
     SUCCESS, {"TITLE": "Lead #1"}, {}),
    # entitymerger.php:1611-1613 — lead COMPANY_TITLE is a plain StringField
    ("lead_company_title", LEAD, [rec(1, COMPANY_TITLE="Acme"), rec(2, COMPANY_TITLE="Acme Ltd")],
     CONFLICT, {}, {}),
    # htmlfield.php:9-12, textfield.php:37-62 — COMMENTS joined with the <br> separator
    ("comments_joined", CONTACT, [rec(1, COMMENTS="Call back"), rec(2, COMMENTS="VIP client")],
     SUCCESS, {"COMMENTS": "Call back" + SEP_HTML + "VIP client"}, {}),
    # textfield.php:18-21 — a seed inside the target (any case) adds nothing
    ("comments_substring", LEAD,
     [rec(1, COMMENTS="Call back tomorrow"), rec(2, COMMENTS="call BACK")],
     SUCCESS, {"COMMENTS": "Call back tomorrow"}, {}),
    # textfield.php:28-35 — several seeds appended in turn, normalised (dot, spaces)
    ("comments_three", COMPANY,
     [rec(1, COMMENTS="First."), rec(2, COMMENTS="Second  one "), rec(3, COMMENTS="Third")],
     SUCCESS, {"COMMENTS": "First" + SEP_HTML + "Second one" + SEP_HTML + "Third"}, {}),
    # textfield.php:18-21 — a later seed already inside the joined value adds nothing
    ("comments_repeat_seed", CONTACT,
     [rec(1, COMMENTS="A"), rec(2, COMMENTS="Bee"), rec(3, COMMENTS="bee")],
     SUCCESS, {"COMMENTS": "A" + SEP_HTML + "Bee"}, {}),
    # entitymerger.php:1321-1324 — an empty target with one seed just copies it
    ("comments_copied", CONTACT, [rec(1, COMMENTS=""), rec(2, COMMENTS="Note")],
     SUCCESS, {"COMMENTS": "Note"}, {}),
    # contactmerger.php:130-131, textfield.php:64-67 — SOURCE_DESCRIPTION uses "\n"
    ("source_description_joined", CONTACT,
     [rec(1, SOURCE_DESCRIPTION="Expo"), rec(2, SOURCE_DESCRIPTION="Call")],
     SUCCESS, {"SOURCE_DESCRIPTION": "Expo" + SEP_TEXT + "Call"}, {}),
    # companymerger.php:442-443 — company BANKING_DETAILS joined
    ("banking_details_joined", COMPANY,
     [rec(1, BANKING_DETAILS="IBAN 1"), rec(2, BANKING_DETAILS="IBAN 2")],
     SUCCESS, {"BANKING_DETAILS": "IBAN 1" + SEP_TEXT + "IBAN 2"}, {}),
    # textfield.php:46-62, culture.php:93-131 — the en culture's short date and time
    ("separator_en", CONTACT, [rec(1, COMMENTS="a"), rec(2, COMMENTS="b")],
     SUCCESS, {"COMMENTS": "a<br><br> ----- 1/2/2025 3:04 pm -----<br>b"},
     {"language": "en", "now": datetime(2025, 1, 2, 15, 4)}),
    # textfield.php:46-62 — the separator text can be given as is
    ("separator_text", CONTACT, [rec(1, COMMENTS="a"), rec(2, COMMENTS="b")],
     SUCCESS, {"COMMENTS": "a<br><br> ----- NOW -----<br>b"}, {"now": "NOW"}),
]
# fmt: on


@pytest.mark.parametrize(
    ("entity", "records", "status", "merged", "options"),
    [pytest.param(*case[1:], id=case[0]) for case in CASES],
)
def test_string_rules(
    entity: Any,
    records: list[dict[str, Any]],
    status: str,
    merged: dict[str, Any],
    options: dict[str, Any],
) -> None:
    check(predict(entity, records, **options), status, merged)


def test_string_conflict_kind() -> None:
    # companymerger.php:434-437: the refusing resolver is a StringField
    verdict = predict(COMPANY, [rec(1, TITLE="Ромашка"), rec(2, TITLE="ООО Ромашка")])
    assert [(c.code, c.kind, c.values) for c in verdict.conflicts] == [
        ("TITLE", "string", {1: "Ромашка", 2: "ООО Ромашка"})
    ]
