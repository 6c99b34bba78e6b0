"""How ``crm.entity.mergeBatch`` decides, case by case, from the Bitrix24 PHP source.

Pure data, so that any implementation can be run over the same table: the emulator
(``tests/emulator/test_merger.py``) and, later, an independent predictor of the verdict.
Each :class:`MergeCase` names:

- ``entity``: LEAD, CONTACT or COMPANY;
- ``records``: each record's fields as ``crm.*.add`` takes them (multifields as lists of
  ``{"VALUE", "VALUE_TYPE"}``); they are created in this order;
- ``order``: ``params[entityIds]`` as 1-based positions in ``records`` (``MISSING`` is an
  id that does not exist); by default every record in order, the first surviving;
- ``user_fields``: custom field definitions in the seed-file format
  (``{"UF_CRM_X": {"title", "type", "multiple"}}``), defined before the records;
- ``language``: the portal's language (``ru`` or ``en``);
- ``status``: SUCCESS, CONFLICT or ERROR;
- ``expected``: survivor fields after the merge (``crm.*.get``; a multifield as the list
  of its VALUEs in order; ``{date}`` in a text stands for the separator's date and time);
- ``entity_ids``: the answer's ENTITY_IDS as positions (by default ``order[1:]``);
- ``conflict_field``: the first field that conflicts (the emulator's stats);
- ``source``: the Bitrix24 source lines (paths as in crm/lib/merger/ unless given).

Source: the crm and main modules of Bitrix24 (crm 25.100.500), read for
docs/emulator.md, "Which Bitrix24 rules it follows".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from b24.crm import MergeStatus

LEAD, CONTACT, COMPANY = "LEAD", "CONTACT", "COMPANY"
MISSING = 0  # in ``order``: an id no record has

Fields = dict[str, Any]


@dataclass(frozen=True)
class MergeCase:
    id: str
    entity: str
    records: tuple[Fields, ...]
    status: str
    source: str
    expected: Fields = field(default_factory=dict)
    order: tuple[int, ...] | None = None
    entity_ids: tuple[int, ...] | None = None
    conflict_field: str | None = None
    language: str = "ru"
    user_fields: dict[str, Any] = field(default_factory=dict)

    @property
    def positions(self) -> tuple[int, ...]:
        return self.order or tuple(range(1, len(self.records) + 1))

    @property
    def answer_ids(self) -> tuple[int, ...]:
        """ENTITY_IDS as positions: the existing ids after the first, repeats kept."""
        if self.entity_ids is not None:
            return self.entity_ids
        existing = [p for p in self.positions if p != MISSING]
        return tuple(existing[1:])


def phone(*values: str, value_type: str = "WORK") -> list[dict[str, str]]:
    return [{"VALUE": v, "VALUE_TYPE": value_type} for v in values]


def email(*values: str, value_type: str = "WORK") -> list[dict[str, str]]:
    return [{"VALUE": v, "VALUE_TYPE": value_type} for v in values]


def contacts(*names: str, **same: Any) -> tuple[Fields, ...]:
    """Contacts that differ only in NAME."""
    return tuple({"NAME": name, **same} for name in names)


def uf(kind: str = "string", multiple: bool = False) -> dict[str, Any]:
    return {"UF_CRM_T": {"title": "T", "type": kind, "multiple": multiple}}


CASES: tuple[MergeCase, ...] = (
    # -- 1. ids, survivor, answer (controller/action/entity/mergebatchaction.php) ---------
    MergeCase(
        "survivor_is_the_first_existing_id",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "Ivan", "POST": "Boss"}),
        MergeStatus.SUCCESS,
        "mergebatchaction.php:58-72,113-130 (missing ids dropped, the first left survives)",
        order=(MISSING, 1, 2),
        expected={"NAME": "Ivan", "POST": "Boss"},
    ),
    MergeCase(
        "missing_ids_in_between_are_dropped",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "Ivan"}),
        MergeStatus.SUCCESS,
        "mergebatchaction.php:113-130",
        order=(1, MISSING, 2),
    ),
    MergeCase(
        "a_repeated_survivor_id_is_no_seed_but_stays_in_entity_ids",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "Ivan", "POST": "Boss"}),
        MergeStatus.SUCCESS,
        "entitymerger.php:353-364 (seeds equal to the target dropped); mergebatchaction.php:72",
        order=(1, 1, 2),
        expected={"POST": "Boss"},
    ),
    MergeCase(
        "a_repeated_seed_is_merged_then_its_second_delete_fails",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "Ivan", "POST": "Boss"}),
        MergeStatus.ERROR,
        "entitymerger.php:353-364 keeps repeated seeds, :482-485 deletes each; "
        "contactmerger.php:243-258 DELETE_FAILED",
        order=(1, 2, 2),
        expected={"POST": "Boss"},
    ),
    MergeCase(
        "entity_ids_are_given_on_conflict_too",
        CONTACT,
        ({"NAME": "Ivan", "TYPE_ID": "CLIENT"}, {"NAME": "Ivan", "TYPE_ID": "SUPPLIER"}),
        MergeStatus.CONFLICT,
        "mergebatchaction.php:83-104",
        conflict_field="TYPE_ID",
    ),
    # -- 2.1 the engine per field (entitymerger.php:1168-1330) ------------------------------
    MergeCase(
        "an_empty_survivor_takes_the_one_seed_value_without_comparison",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "Ivan", "BIRTHDATE": "1990-01-01"}),
        MergeStatus.SUCCESS,
        "entitymerger.php:1287,1321-1324",
        expected={"BIRTHDATE": "1990-01-01"},
    ),
    MergeCase(
        "a_survivor_value_stays_when_no_seed_has_one",
        CONTACT,
        ({"NAME": "Ivan", "TYPE_ID": "CLIENT"}, {"NAME": "Ivan"}),
        MergeStatus.SUCCESS,
        "entitymerger.php:1282-1285",
        expected={"TYPE_ID": "CLIENT"},
    ),
    MergeCase(
        "an_empty_survivor_compares_the_seeds_with_the_first_valued_seed",
        CONTACT,
        (
            {"NAME": "Ivan"},
            {"NAME": "Ivan", "TYPE_ID": "CLIENT"},
            {"NAME": "Ivan", "TYPE_ID": "SUPPLIER"},
        ),
        MergeStatus.CONFLICT,
        "entitymerger.php:1287-1308",
        conflict_field="TYPE_ID",
    ),
    MergeCase(
        "an_empty_survivor_takes_the_first_seed_when_the_resolver_sets_nothing",
        CONTACT,
        (
            {"NAME": "Ivan"},
            {"NAME": "Ivan", "POST": "Sales Manager"},
            {"NAME": "Ivan", "POST": "sales manager"},
        ),
        MergeStatus.SUCCESS,
        "entitymerger.php:1309,1321-1324; stringfield.php:119-137",
        expected={"POST": "Sales Manager"},
    ),
    MergeCase(
        "an_empty_survivor_takes_what_the_resolver_set",
        CONTACT,
        (
            {"NAME": "Ivan"},
            {"NAME": "Ivan", "POST": "sales manager"},
            {"NAME": "Ivan", "POST": "Sales Manager"},
        ),
        MergeStatus.SUCCESS,
        "entitymerger.php:1309-1310; stringfield.php:126-131 (a lower-case target takes the seed)",
        expected={"POST": "Sales Manager"},
    ),
    MergeCase(
        "a_zero_user_id_is_no_value",
        CONTACT,
        ({"NAME": "Ivan", "ASSIGNED_BY_ID": "0"}, {"NAME": "Ivan", "ASSIGNED_BY_ID": "5"}),
        MergeStatus.SUCCESS,
        "entitymerger.php:1476-1479 (integer and user: 0 is empty)",
        expected={"ASSIGNED_BY_ID": "5"},
    ),
    MergeCase(
        "a_zero_sum_is_no_value",
        LEAD,
        ({"TITLE": "L", "OPPORTUNITY": "0"}, {"TITLE": "L", "OPPORTUNITY": "150"}),
        MergeStatus.SUCCESS,
        "entitymerger.php:1472-1475 (double: 0 is empty)",
        expected={"OPPORTUNITY": "150"},
    ),
    MergeCase(
        "a_zero_company_link_is_a_value",
        LEAD,
        ({"TITLE": "L", "COMPANY_ID": "0"}, {"TITLE": "L", "COMPANY_ID": "7"}),
        MergeStatus.CONFLICT,
        "entitymerger.php:1449-1483: for crm_* only null is empty (inference, docs/emulator.md)",
        conflict_field="COMPANY_ID",
    ),
    # -- 2.2 plain equality (conflictresolver/base.php) -------------------------------------
    MergeCase(
        "equal_as_numbers_is_equal",
        CONTACT,
        ({"NAME": "Ivan", "ASSIGNED_BY_ID": "1"}, {"NAME": "Ivan", "ASSIGNED_BY_ID": "01"}),
        MergeStatus.SUCCESS,
        "base.php:100-103 (PHP ==: numeric strings compare as numbers)",
        expected={"ASSIGNED_BY_ID": "1"},
    ),
    MergeCase(
        "a_different_responsible_conflicts",
        CONTACT,
        ({"NAME": "Ivan", "ASSIGNED_BY_ID": "1"}, {"NAME": "Ivan", "ASSIGNED_BY_ID": "2"}),
        MergeStatus.CONFLICT,
        "entitymerger.php:1609-1616 (type user gets Base); base.php:100-103",
        conflict_field="ASSIGNED_BY_ID",
    ),
    MergeCase(
        "a_different_salutation_conflicts",
        LEAD,
        ({"TITLE": "L", "HONORIFIC": "HNR_RU_1"}, {"TITLE": "L", "HONORIFIC": "HNR_RU_2"}),
        MergeStatus.CONFLICT,
        "base.php:100-103 (crm_status)",
        conflict_field="HONORIFIC",
    ),
    MergeCase(
        "a_different_birthdate_conflicts",
        CONTACT,
        ({"NAME": "Ivan", "BIRTHDATE": "1990-01-01"}, {"NAME": "Ivan", "BIRTHDATE": "1991-01-01"}),
        MergeStatus.CONFLICT,
        "base.php:100-103 (date)",
        conflict_field="BIRTHDATE",
    ),
    MergeCase(
        "each_seed_is_compared_with_the_survivor",
        CONTACT,
        (
            {"NAME": "Ivan", "TYPE_ID": "CLIENT"},
            {"NAME": "Ivan", "TYPE_ID": "CLIENT"},
            {"NAME": "Ivan", "TYPE_ID": "CLIENT"},
        ),
        MergeStatus.SUCCESS,
        "base.php:69-84",
        expected={"TYPE_ID": "CLIENT"},
    ),
    MergeCase(
        "company_type_industry_employees_conflict",
        COMPANY,
        (
            {"TITLE": "Romashka", "INDUSTRY": "IT"},
            {"TITLE": "Romashka", "INDUSTRY": "MANUFACTURING"},
        ),
        MergeStatus.CONFLICT,
        "companymerger.php:420-449, entitymerger.php:1609-1616 (crm_status: Base)",
        conflict_field="INDUSTRY",
    ),
    MergeCase(
        "a_revenue_written_differently_is_equal",
        COMPANY,
        ({"TITLE": "Romashka", "REVENUE": "1000"}, {"TITLE": "Romashka", "REVENUE": "1000.00"}),
        MergeStatus.SUCCESS,
        "base.php:100-103 (numeric strings)",
        expected={"REVENUE": "1000"},
    ),
    MergeCase(
        "a_different_currency_conflicts",
        COMPANY,
        ({"TITLE": "Romashka", "CURRENCY_ID": "RUB"}, {"TITLE": "Romashka", "CURRENCY_ID": "USD"}),
        MergeStatus.CONFLICT,
        "base.php:100-103 (crm_currency)",
        conflict_field="CURRENCY_ID",
    ),
    MergeCase(
        "a_manual_sum_flag_n_is_a_value",
        LEAD,
        (
            {"TITLE": "L", "IS_MANUAL_OPPORTUNITY": "N"},
            {"TITLE": "L", "IS_MANUAL_OPPORTUNITY": "Y"},
        ),
        MergeStatus.CONFLICT,
        "entitymerger.php:1468-1471 (char: only '' is empty); base.php:100-103",
        conflict_field="IS_MANUAL_OPPORTUNITY",
    ),
    MergeCase(
        "a_lead_company_that_differs_conflicts",
        LEAD,
        ({"TITLE": "L", "COMPANY_ID": "7"}, {"TITLE": "L", "COMPANY_ID": "8"}),
        MergeStatus.CONFLICT,
        "crm_lead.php:356 (crm_company, a field of the lead); base.php:100-103",
        conflict_field="COMPANY_ID",
    ),
    # -- 2.3 string fields (conflictresolver/stringfield.php) -------------------------------
    MergeCase(
        "string_trimmed_equal_target_takes_the_clean_seed",
        CONTACT,
        ({"NAME": "Ivan", "POST": " Manager "}, {"NAME": "Ivan", "POST": "Manager"}),
        MergeStatus.SUCCESS,
        "stringfield.php:65-73,139-148",
        expected={"POST": "Manager"},
    ),
    MergeCase(
        "string_trimmed_equal_target_keeps_its_spelling",
        CONTACT,
        ({"NAME": "Ivan", "POST": "Manager"}, {"NAME": "Ivan", "POST": "\tManager "}),
        MergeStatus.SUCCESS,
        "stringfield.php:65-73,139-148",
        expected={"POST": "Manager"},
    ),
    MergeCase(
        "string_trailing_dots_are_stripped",
        LEAD,
        (
            {"TITLE": "L", "COMPANY_TITLE": "Romashka Ltd..."},
            {"TITLE": "L", "COMPANY_TITLE": "Romashka Ltd"},
        ),
        MergeStatus.SUCCESS,
        "stringfield.php:76-83",
        expected={"COMPANY_TITLE": "Romashka Ltd"},
    ),
    MergeCase(
        "string_a_seed_of_dots_is_ignored",
        CONTACT,
        ({"NAME": "Ivan", "POST": "Manager"}, {"NAME": "Ivan", "POST": " ... "}),
        MergeStatus.SUCCESS,
        "stringfield.php:85-88",
        expected={"POST": "Manager"},
    ),
    MergeCase(
        "string_a_target_of_dots_takes_the_seed",
        CONTACT,
        ({"NAME": "Ivan", "POST": "."}, {"NAME": "Ivan", "POST": "Boss"}),
        MergeStatus.SUCCESS,
        "stringfield.php:90-94",
        expected={"POST": "Boss"},
    ),
    MergeCase(
        "string_runs_of_spaces_count_as_one",
        CONTACT,
        ({"NAME": "Ivan", "POST": "Sales  manager"}, {"NAME": "Ivan", "POST": "Sales manager"}),
        MergeStatus.SUCCESS,
        "stringfield.php:99-117,150-153",
        expected={"POST": "Sales manager"},
    ),
    MergeCase(
        "string_a_tab_is_not_a_space",
        CONTACT,
        ({"NAME": "Ivan", "POST": "Sales\tmanager"}, {"NAME": "Ivan", "POST": "Sales manager"}),
        MergeStatus.CONFLICT,
        "stringfield.php:150-153 (only ASCII spaces)",
        conflict_field="POST",
    ),
    MergeCase(
        "string_a_no_break_space_is_not_a_space",
        CONTACT,
        ({"NAME": "Ivan", "POST": "Sales\u00a0manager"}, {"NAME": "Ivan", "POST": "Sales manager"}),
        MergeStatus.CONFLICT,
        "stringfield.php:150-153 (only ASCII spaces)",
        conflict_field="POST",
    ),
    MergeCase(
        "string_letter_case_target_keeps_its_capitals",
        CONTACT,
        ({"NAME": "Ivan", "POST": "SALES MANAGER"}, {"NAME": "Ivan", "POST": "Sales Manager"}),
        MergeStatus.SUCCESS,
        "stringfield.php:119-137",
        expected={"POST": "SALES MANAGER"},
    ),
    MergeCase(
        "string_letter_case_lower_case_target_takes_the_seed",
        CONTACT,
        ({"NAME": "Ivan", "POST": "sales manager"}, {"NAME": "Ivan", "POST": "Sales Manager"}),
        MergeStatus.SUCCESS,
        "stringfield.php:124-131",
        expected={"POST": "Sales Manager"},
    ),
    MergeCase(
        "string_steps_are_cumulative",
        LEAD,
        (
            {"TITLE": "L", "COMPANY_TITLE": "  ООО Ромашка. "},
            {"TITLE": "L", "COMPANY_TITLE": "ооо  ромашка"},
        ),
        MergeStatus.SUCCESS,
        "stringfield.php:16-48 (trim, dots, spaces, case in turn)",
        expected={"COMPANY_TITLE": "  ООО Ромашка. "},
    ),
    MergeCase(
        "string_numeric_strings_compare_as_numbers",
        CONTACT,
        ({"NAME": "Ivan", "POST": "1e3"}, {"NAME": "Ivan", "POST": "1000"}),
        MergeStatus.SUCCESS,
        "stringfield.php:18 (base.php ==)",
        expected={"POST": "1e3"},
    ),
    MergeCase(
        "string_different_words_conflict",
        CONTACT,
        ({"NAME": "Ivan", "POST": "Manager"}, {"NAME": "Ivan", "POST": "Director"}),
        MergeStatus.CONFLICT,
        "stringfield.php:16-48",
        conflict_field="POST",
    ),
    MergeCase(
        "string_different_utm_conflict",
        LEAD,
        ({"TITLE": "L", "UTM_SOURCE": "google"}, {"TITLE": "L", "UTM_SOURCE": "yandex"}),
        MergeStatus.CONFLICT,
        "crm_lead.php:396 (UTM fields are strings); utm.php:283-318 (inference, docs/emulator.md)",
        conflict_field="UTM_SOURCE",
    ),
    MergeCase(
        "string_different_origin_conflict",
        CONTACT,
        ({"NAME": "Ivan", "ORIGIN_ID": "A-1"}, {"NAME": "Ivan", "ORIGIN_ID": "A-2"}),
        MergeStatus.CONFLICT,
        "crm_contact.php:363-365 (string)",
        conflict_field="ORIGIN_ID",
    ),
    # -- placeholders (contactmerger.php:383-399, companymerger.php:451-467) ---------------
    MergeCase(
        "contact_placeholder_name_is_no_value_ru",
        CONTACT,
        ({"NAME": "Без имени"}, {"NAME": "Ivan"}),
        MergeStatus.SUCCESS,
        "contactmerger.php:383-399; crm/lang/ru/classes/general/crm_contact.php (UNNAMED)",
        expected={"NAME": "Ivan"},
    ),
    MergeCase(
        "contact_web_form_placeholder_is_no_value_ru",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "частное лицо"}),
        MergeStatus.SUCCESS,
        "contactmerger.php:383-399; crm/lang/ru/lib/webform/entity.php",
        expected={"NAME": "Ivan"},
    ),
    MergeCase(
        "contact_placeholder_name_is_no_value_en",
        CONTACT,
        ({"NAME": "individual"}, {"NAME": "John"}),
        MergeStatus.SUCCESS,
        "contactmerger.php:383-399; crm/lang/en/lib/webform/entity.php",
        language="en",
        expected={"NAME": "John"},
    ),
    MergeCase(
        "contact_placeholder_of_another_language_is_a_name",
        CONTACT,
        ({"NAME": "No name"}, {"NAME": "John"}),
        MergeStatus.CONFLICT,
        "contactmerger.php:393-398 (the texts of the portal's language only)",
        conflict_field="NAME",
    ),
    MergeCase(
        "company_placeholder_title_is_no_value",
        COMPANY,
        ({"TITLE": "Без названия"}, {"TITLE": "Romashka"}),
        MergeStatus.SUCCESS,
        "companymerger.php:451-467; crm/lang/ru/classes/general/crm_company.php (UNTITLED)",
        expected={"TITLE": "Romashka"},
    ),
    MergeCase(
        "company_placeholder_title_is_no_value_en",
        COMPANY,
        ({"TITLE": "Acme"}, {"TITLE": "Untitled"}),
        MergeStatus.SUCCESS,
        "companymerger.php:451-467; crm/lang/en/classes/general/crm_company.php",
        language="en",
        expected={"TITLE": "Acme"},
    ),
    # -- company TITLE: string steps only (companymerger.php:434-437) ----------------------
    MergeCase(
        "company_title_has_no_substring_rule",
        COMPANY,
        ({"TITLE": "Romashka"}, {"TITLE": "Romashka LLC"}),
        MergeStatus.CONFLICT,
        "companymerger.php:434-437 (StringField, no name rules)",
        conflict_field="TITLE",
    ),
    MergeCase(
        "company_title_has_no_translit_rule",
        COMPANY,
        ({"TITLE": "Romashka"}, {"TITLE": "Ромашка"}),
        MergeStatus.CONFLICT,
        "companymerger.php:434-437",
        conflict_field="TITLE",
    ),
    MergeCase(
        "company_title_string_steps",
        COMPANY,
        ({"TITLE": "romashka  llc."}, {"TITLE": "Romashka LLC"}),
        MergeStatus.SUCCESS,
        "companymerger.php:434-437; stringfield.php:16-48",
        expected={"TITLE": "Romashka LLC"},
    ),
    # -- 2.4 names (conflictresolver/namefield.php) ----------------------------------------
    MergeCase(
        "name_seeds_are_checked_pairwise_first",
        CONTACT,
        contacts("Alexander", "Alex", "Sander"),
        MergeStatus.CONFLICT,
        "namefield.php:29-62 (Alex and Sander are each inside Alexander, not in each other)",
        conflict_field="NAME",
    ),
    MergeCase(
        "name_up_to_ten_seeds_use_every_rule",
        CONTACT,
        contacts("Alexander", *["Alex"] * 10),
        MergeStatus.SUCCESS,
        "namefield.php:9,29-62,100-103",
        expected={"NAME": "Alexander"},
    ),
    MergeCase(
        "name_more_than_ten_seeds_use_the_string_steps_only",
        CONTACT,
        contacts("Alexander", *["Alex"] * 11),
        MergeStatus.CONFLICT,
        "namefield.php:9,31-36,74-77",
        conflict_field="NAME",
    ),
    MergeCase(
        "name_last_name_in_the_first_name_field_of_the_seed",
        CONTACT,
        ({"NAME": "Ivan", "LAST_NAME": "Petrov"}, {"NAME": "Petrov"}),
        MergeStatus.SUCCESS,
        "namefield.php:173-176",
        expected={"NAME": "Ivan", "LAST_NAME": "Petrov"},
    ),
    MergeCase(
        # namefield.php:177-180 accepts a seed with an empty NAME whose LAST_NAME is the
        # other's NAME, but only inside NAME's resolver, which a seed without a NAME never
        # reaches (entitymerger.php:1282); LAST_NAME is then compared on its own.
        "name_first_name_in_the_last_name_field_is_no_rescue",
        CONTACT,
        ({"NAME": "Ivan", "LAST_NAME": "Petrov"}, {"LAST_NAME": "ivan"}),
        MergeStatus.CONFLICT,
        "namefield.php:177-180; entitymerger.php:1274-1285",
        conflict_field="LAST_NAME",
    ),
    MergeCase(
        "name_misplaced_part_in_the_survivor_takes_both_seed_names",
        CONTACT,
        ({"NAME": "Petrov"}, {"NAME": "Ivan", "LAST_NAME": "Petrov"}),
        MergeStatus.SUCCESS,
        "namefield.php:182-187",
        expected={"NAME": "Ivan", "LAST_NAME": "Petrov"},
    ),
    MergeCase(
        "name_packed_full_name_in_the_seed",
        LEAD,
        (
            {"TITLE": "L", "NAME": "Ivan", "LAST_NAME": "Petrov"},
            {"TITLE": "L", "NAME": "Petrov Ivan"},
        ),
        MergeStatus.SUCCESS,
        "namefield.php:197-203",
        expected={"NAME": "Ivan", "LAST_NAME": "Petrov"},
    ),
    MergeCase(
        "name_packed_full_name_in_the_survivor_is_unpacked",
        CONTACT,
        ({"NAME": "Ivan Petrov"}, {"NAME": "Ivan", "LAST_NAME": "Petrov"}),
        MergeStatus.SUCCESS,
        "namefield.php:211-219",
        expected={"NAME": "Ivan", "LAST_NAME": "Petrov"},
    ),
    MergeCase(
        # Each seed alone resolves with the survivor (Petrov is its last name; Ivan its
        # name), but in the pair pass "Ivan Petrov" is checked against "Petrov" with the
        # survivor's LAST_NAME, not the pair's (empty) one: no rule fits.
        "name_pair_pass_reads_the_survivors_last_name",
        CONTACT,
        (
            {"NAME": "Ivan", "LAST_NAME": "Petrov"},
            {"NAME": "Petrov"},
            {"NAME": "Ivan", "LAST_NAME": "Petrov"},
        ),
        MergeStatus.CONFLICT,
        "namefield.php:39-56,159-170 (getTarget() is the real target)",
        conflict_field="NAME",
    ),
    MergeCase(
        "name_full_swap_conflicts",
        CONTACT,
        ({"NAME": "Ivan", "LAST_NAME": "Petrov"}, {"NAME": "Petrov", "LAST_NAME": "Ivan"}),
        MergeStatus.CONFLICT,
        "namefield.php:172-229 (no rule for two filled, swapped names)",
        conflict_field="NAME",
    ),
    MergeCase(
        "name_runs_of_spaces_in_the_last_name",
        CONTACT,
        ({"NAME": "Anna", "LAST_NAME": "Van  Dyke"}, {"NAME": "Anna", "LAST_NAME": "Van Dyke"}),
        MergeStatus.SUCCESS,
        "namefield.php:231-239,253-285",
        expected={"NAME": "Anna", "LAST_NAME": "Van Dyke"},
    ),
    MergeCase(
        "name_a_seed_inside_the_survivor",
        CONTACT,
        ({"NAME": "Joanna"}, {"NAME": "ann"}),
        MergeStatus.SUCCESS,
        "namefield.php:100-103,114-119 (mb_stripos)",
        expected={"NAME": "Joanna"},
    ),
    MergeCase(
        "name_the_survivor_inside_a_seed_takes_the_longer",
        CONTACT,
        ({"NAME": "Al"}, {"NAME": "Alexander"}),
        MergeStatus.SUCCESS,
        "namefield.php:120-124",
        expected={"NAME": "Alexander"},
    ),
    MergeCase(
        "name_substring_rule_also_for_last_names",
        CONTACT,
        ({"NAME": "Ivan", "LAST_NAME": "Petrova"}, {"NAME": "Ivan", "LAST_NAME": "Petrov"}),
        MergeStatus.SUCCESS,
        "contactmerger.php:120-122 (LAST_NAME is a NameField); namefield.php:114-119",
        expected={"LAST_NAME": "Petrova"},
    ),
    MergeCase(
        "name_second_names_that_differ_conflict",
        CONTACT,
        (
            {"NAME": "Ivan", "SECOND_NAME": "Petrovich"},
            {"NAME": "Ivan", "SECOND_NAME": "Sergeevich"},
        ),
        MergeStatus.CONFLICT,
        "namefield.php:64-112",
        conflict_field="SECOND_NAME",
    ),
    MergeCase(
        "name_translit_a_latin_survivor_takes_the_cyrillic_seed",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "Иван"}),
        MergeStatus.SUCCESS,
        "namefield.php:129-157; main/lang/ru/js_core_translit.php",
        expected={"NAME": "Иван"},
    ),
    MergeCase(
        "name_translit_a_cyrillic_survivor_keeps_its_name",
        CONTACT,
        ({"NAME": "Иван"}, {"NAME": "Ivan"}),
        MergeStatus.SUCCESS,
        "namefield.php:146-153",
        expected={"NAME": "Иван"},
    ),
    MergeCase(
        "name_translit_yo_kh_and_soft_sign",
        CONTACT,
        (
            {"NAME": "Alyena", "LAST_NAME": "Kharitonov"},
            {"NAME": "Алёна", "LAST_NAME": "Харитонов"},
        ),
        MergeStatus.SUCCESS,
        "main/lang/ru/js_core_translit.php (ё→ye, х→kh); namefield.php:129-157",
        expected={"NAME": "Алёна", "LAST_NAME": "Харитонов"},
    ),
    MergeCase(
        "name_translit_drops_soft_and_hard_signs",
        LEAD,
        ({"TITLE": "L", "NAME": "Igor"}, {"TITLE": "L", "NAME": "Игорь"}),
        MergeStatus.SUCCESS,
        "main/lang/ru/js_core_translit.php (ь→''); main/classes/general/util.php:629-730",
        expected={"NAME": "Игорь"},
    ),
    MergeCase(
        "name_translit_shch",
        CONTACT,
        ({"NAME": "Ivan", "LAST_NAME": "Shchukin"}, {"NAME": "Ivan", "LAST_NAME": "Щукин"}),
        MergeStatus.SUCCESS,
        "main/lang/ru/js_core_translit.php (щ→shch)",
        expected={"LAST_NAME": "Щукин"},
    ),
    MergeCase(
        "name_different_cyrillic_names_conflict_on_a_russian_portal",
        CONTACT,
        ({"NAME": "Иван"}, {"NAME": "Олег"}),
        MergeStatus.CONFLICT,
        "namefield.php:129-157 with the ru table",
        conflict_field="NAME",
    ),
    MergeCase(
        "name_same_length_cyrillic_names_resolve_on_an_english_portal",
        CONTACT,
        ({"NAME": "Иван"}, {"NAME": "Олег"}),
        MergeStatus.SUCCESS,
        "namefield.php:129-157; main/lang/en/js_core_translit.php is empty: every letter is _ "
        "(inference, docs/emulator.md)",
        language="en",
        expected={"NAME": "Иван"},
    ),
    MergeCase(
        "name_cyrillic_and_latin_do_not_match_on_an_english_portal",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "Иван"}),
        MergeStatus.CONFLICT,
        "namefield.php:129-157; main/lang/en/js_core_translit.php",
        language="en",
        conflict_field="NAME",
    ),
    # -- 2.5 joined text (textfield.php, htmlfield.php) ------------------------------------
    MergeCase(
        "comments_are_joined_with_br",
        CONTACT,
        ({"NAME": "Ivan", "COMMENTS": "Call back"}, {"NAME": "Ivan", "COMMENTS": "VIP client"}),
        MergeStatus.SUCCESS,
        "contactmerger.php:124-125; textfield.php:11-26,37-62; htmlfield.php:9-12",
        expected={"COMMENTS": "Call back<br><br> ----- {date} -----<br>VIP client"},
    ),
    MergeCase(
        "comments_a_seed_inside_the_survivor_adds_nothing",
        LEAD,
        (
            {"TITLE": "L", "COMMENTS": "VIP client, call back"},
            {"TITLE": "L", "COMMENTS": "vip CLIENT"},
        ),
        MergeStatus.SUCCESS,
        "textfield.php:18-21 (mb_stripos)",
        expected={"COMMENTS": "VIP client, call back"},
    ),
    MergeCase(
        "joined_values_are_the_normalised_ones",
        COMPANY,
        ({"TITLE": "R", "COMMENTS": "Call back. "}, {"TITLE": "R", "COMMENTS": "  VIP  client."}),
        MergeStatus.SUCCESS,
        "textfield.php:11-26 (the string steps leave trimmed, dotless, single-spaced values)",
        expected={"COMMENTS": "Call back<br><br> ----- {date} -----<br>VIP client"},
    ),
    MergeCase(
        "source_description_is_joined_with_new_lines",
        LEAD,
        (
            {"TITLE": "L", "SOURCE_DESCRIPTION": "Expo"},
            {"TITLE": "L", "SOURCE_DESCRIPTION": "Call"},
        ),
        MergeStatus.SUCCESS,
        "leadmerger.php:153-154; textfield.php:46-67",
        expected={"SOURCE_DESCRIPTION": "Expo\n\n ----- {date} -----\nCall"},
    ),
    MergeCase(
        "several_seeds_are_appended_in_turn",
        CONTACT,
        (
            {"NAME": "Ivan", "SOURCE_DESCRIPTION": "a"},
            {"NAME": "Ivan", "SOURCE_DESCRIPTION": "b"},
            {"NAME": "Ivan", "SOURCE_DESCRIPTION": "c"},
        ),
        MergeStatus.SUCCESS,
        "contactmerger.php:130-131; textfield.php:28-35 (the target as joined so far)",
        expected={"SOURCE_DESCRIPTION": "a\n\n ----- {date} -----\nb\n\n ----- {date} -----\nc"},
    ),
    MergeCase(
        "banking_details_are_joined",
        COMPANY,
        ({"TITLE": "R", "BANKING_DETAILS": "Acc 1"}, {"TITLE": "R", "BANKING_DETAILS": "Acc 2"}),
        MergeStatus.SUCCESS,
        "companymerger.php:442-443; textfield.php",
        expected={"BANKING_DETAILS": "Acc 1\n\n ----- {date} -----\nAcc 2"},
    ),
    MergeCase(
        "joined_date_in_the_english_format",
        CONTACT,
        ({"NAME": "John", "COMMENTS": "a"}, {"NAME": "John", "COMMENTS": "b"}),
        MergeStatus.SUCCESS,
        "textfield.php:46-62 (the culture's short date and time; en: n/j/Y g:i a, inference)",
        language="en",
        expected={"COMMENTS": "a<br><br> ----- {date} -----<br>b"},
    ),
    # -- 2.6 kept by the survivor, never compared ------------------------------------------
    MergeCase(
        "opened_is_kept",
        CONTACT,
        ({"NAME": "Ivan", "OPENED": "Y"}, {"NAME": "Ivan", "OPENED": "N"}),
        MergeStatus.SUCCESS,
        "contactmerger.php:133-135; ignoredfield.php:12-20",
        expected={"OPENED": "Y"},
    ),
    MergeCase(
        "export_is_kept",
        CONTACT,
        ({"NAME": "Ivan", "EXPORT": "N"}, {"NAME": "Ivan", "EXPORT": "Y"}),
        MergeStatus.SUCCESS,
        "contactmerger.php:133-135",
        expected={"EXPORT": "N"},
    ),
    MergeCase(
        "lead_title_is_kept",
        LEAD,
        ({"TITLE": "Website order"}, {"TITLE": "Phone call"}),
        MergeStatus.SUCCESS,
        "leadmerger.php:124-126",
        expected={"TITLE": "Website order"},
    ),
    MergeCase(
        "source_is_kept",
        CONTACT,
        ({"NAME": "Ivan", "SOURCE_ID": "CALL"}, {"NAME": "Ivan", "SOURCE_ID": "WEB"}),
        MergeStatus.SUCCESS,
        "contactmerger.php:127-128; sourcefield.php:14-19; ignoredfield.php:22-38",
        expected={"SOURCE_ID": "CALL"},
    ),
    MergeCase(
        "an_empty_source_takes_the_seeds",
        LEAD,
        ({"TITLE": "L"}, {"TITLE": "L", "SOURCE_ID": "WEB"}, {"TITLE": "L", "SOURCE_ID": "CALL"}),
        MergeStatus.SUCCESS,
        "leadmerger.php:150-151; entitymerger.php:1287-1324 (the first valued seed)",
        expected={"SOURCE_ID": "WEB"},
    ),
    MergeCase(
        "lead_stage_is_not_compared",
        LEAD,
        ({"TITLE": "L", "STATUS_ID": "NEW"}, {"TITLE": "L", "STATUS_ID": "JUNK"}),
        MergeStatus.SUCCESS,
        "leadmerger.php:163-174; entitymerger.php:1237-1246 (Progress)",
        expected={"STATUS_ID": "NEW"},
    ),
    MergeCase(
        "lead_stage_description_is_not_compared",
        LEAD,
        ({"TITLE": "L", "STATUS_DESCRIPTION": "a"}, {"TITLE": "L", "STATUS_DESCRIPTION": "b"}),
        MergeStatus.SUCCESS,
        "leadmerger.php:163-174",
        expected={"STATUS_DESCRIPTION": "a"},
    ),
    MergeCase(
        "lead_sums_written_differently_are_equal",
        LEAD,
        ({"TITLE": "L", "OPPORTUNITY": "100"}, {"TITLE": "L", "OPPORTUNITY": "100.00"}),
        MergeStatus.SUCCESS,
        "opportunityfield.php:25-30,93-101 (compared as floats)",
        expected={"OPPORTUNITY": "100"},
    ),
    MergeCase(
        "lead_sums_that_differ_conflict_without_product_rows",
        LEAD,
        ({"TITLE": "L", "OPPORTUNITY": "100"}, {"TITLE": "L", "OPPORTUNITY": "200"}),
        MergeStatus.CONFLICT,
        "opportunityfield.php:60-72 (neither side has product rows)",
        conflict_field="OPPORTUNITY",
    ),
    # -- 2.7 custom fields (entitymerger.php:2066-2440) -------------------------------------
    MergeCase(
        "uf_string_uses_the_string_steps",
        CONTACT,
        ({"NAME": "Ivan", "UF_CRM_T": "Gold "}, {"NAME": "Ivan", "UF_CRM_T": "gold"}),
        MergeStatus.SUCCESS,
        "entitymerger.php:2136-2168,1609-1616 (USER_TYPE_ID string: StringField)",
        user_fields=uf("string"),
        expected={"UF_CRM_T": "Gold "},
    ),
    MergeCase(
        "uf_string_that_differs_conflicts",
        CONTACT,
        ({"NAME": "Ivan", "UF_CRM_T": "Gold"}, {"NAME": "Ivan", "UF_CRM_T": "Silver"}),
        MergeStatus.CONFLICT,
        "entitymerger.php:2136-2159",
        user_fields=uf("string"),
        conflict_field="UF_CRM_T",
    ),
    MergeCase(
        "uf_integer_equal_as_numbers",
        CONTACT,
        ({"NAME": "Ivan", "UF_CRM_T": "5"}, {"NAME": "Ivan", "UF_CRM_T": "05"}),
        MergeStatus.SUCCESS,
        "entitymerger.php:2136-2168; base.php:100-103",
        user_fields=uf("integer"),
        expected={"UF_CRM_T": "5"},
    ),
    MergeCase(
        "uf_boolean_that_differs_conflicts",
        LEAD,
        ({"TITLE": "L", "UF_CRM_T": "Y"}, {"TITLE": "L", "UF_CRM_T": "N"}),
        MergeStatus.CONFLICT,
        "entitymerger.php:2136-2159; base.php (0 and 1; inference, docs/emulator.md)",
        user_fields=uf("boolean"),
        conflict_field="UF_CRM_T",
    ),
    MergeCase(
        "uf_enumeration_that_differs_conflicts",
        COMPANY,
        ({"TITLE": "R", "UF_CRM_T": "41"}, {"TITLE": "R", "UF_CRM_T": "42"}),
        MergeStatus.CONFLICT,
        "entitymerger.php:2136-2159",
        user_fields=uf("enumeration"),
        conflict_field="UF_CRM_T",
    ),
    MergeCase(
        "uf_single_two_seeds_compared_without_a_survivor_value",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "Ivan", "UF_CRM_T": "1"}, {"NAME": "Ivan", "UF_CRM_T": "2"}),
        MergeStatus.CONFLICT,
        "entitymerger.php:2136-2139 (two seeds have values)",
        user_fields=uf("integer"),
        conflict_field="UF_CRM_T",
    ),
    MergeCase(
        "uf_single_one_seed_is_copied",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "Ivan", "UF_CRM_T": "2024-01-01"}),
        MergeStatus.SUCCESS,
        "entitymerger.php:2433-2436",
        user_fields=uf("date"),
        expected={"UF_CRM_T": "2024-01-01"},
    ),
    MergeCase(
        "uf_multiple_values_are_united",
        CONTACT,
        ({"NAME": "Ivan", "UF_CRM_T": ["a", "b"]}, {"NAME": "Ivan", "UF_CRM_T": ["b", "c"]}),
        MergeStatus.SUCCESS,
        "entitymerger.php:2174-2188,2410-2427",
        user_fields=uf("string", multiple=True),
        expected={"UF_CRM_T": ["a", "b", "c"]},
    ),
    MergeCase(
        "uf_multiple_never_conflicts",
        CONTACT,
        (
            {"NAME": "Ivan"},
            {"NAME": "Ivan", "UF_CRM_T": ["1"]},
            {"NAME": "Ivan", "UF_CRM_T": ["2", "1"]},
        ),
        MergeStatus.SUCCESS,
        "entitymerger.php:2136 (only single fields are compared), 2174-2188",
        user_fields=uf("integer", multiple=True),
        expected={"UF_CRM_T": ["1", "2"]},
    ),
    # -- 2.8 multifields (entitymerger.php:2475-2603) ---------------------------------------
    MergeCase(
        "phones_are_united_by_their_code",
        CONTACT,
        (
            {"NAME": "Ivan", "PHONE": phone("+7 999 123-45-67")},
            {"NAME": "Ivan", "PHONE": phone("8 (999) 123-45-67", "+7 495 000 00 00")},
        ),
        MergeStatus.SUCCESS,
        "entitymerger.php:2515-2539,2573-2599; duplicatecommunicationcriterion.php:295-311",
        expected={"PHONE": ["+7 999 123-45-67", "+7 495 000 00 00"]},
    ),
    MergeCase(
        "a_phone_of_another_value_type_is_the_same_phone",
        CONTACT,
        (
            {"NAME": "Ivan", "PHONE": phone("79991234567", value_type="WORK")},
            {"NAME": "Ivan", "PHONE": phone("79991234567", value_type="MOBILE")},
        ),
        MergeStatus.SUCCESS,
        "entitymerger.php:2582-2586 (VALUE_TYPE is not in the key)",
        expected={"PHONE": ["79991234567"]},
    ),
    MergeCase(
        "emails_are_united_trimmed_and_case_insensitively",
        LEAD,
        (
            {"TITLE": "L", "EMAIL": email("Ivan@Example.com")},
            {"TITLE": "L", "EMAIL": email(" ivan@example.COM", "i@x.io")},
        ),
        MergeStatus.SUCCESS,
        "entitymerger.php:2576-2584",
        expected={"EMAIL": ["Ivan@Example.com", "i@x.io"]},
    ),
    MergeCase(
        "same_phones_within_one_seed_are_both_added",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "Ivan", "PHONE": phone("89991234567", "+7 999 123 45 67")}),
        MergeStatus.SUCCESS,
        "entitymerger.php:2494-2540 (keys taken from the target before each seed)",
        expected={"PHONE": ["89991234567", "+7 999 123 45 67"]},
    ),
    MergeCase(
        "same_phones_across_seeds_are_added_once",
        CONTACT,
        (
            {"NAME": "Ivan"},
            {"NAME": "Ivan", "PHONE": phone("89991234567")},
            {"NAME": "Ivan", "PHONE": phone("+7 999 123 45 67")},
        ),
        MergeStatus.SUCCESS,
        "entitymerger.php:1571-1600 (seeds one by one)",
        expected={"PHONE": ["89991234567"]},
    ),
    MergeCase(
        "a_plus_eight_phone_is_not_an_eight_phone",
        CONTACT,
        (
            {"NAME": "Ivan", "PHONE": phone("89991234567")},
            {"NAME": "Ivan", "PHONE": phone("+8 999 123 45 67")},
        ),
        MergeStatus.SUCCESS,
        "main/tools.php:4948-4951 (+8 becomes 008, then 00 goes: 8999..., not 7999...)",
        expected={"PHONE": ["89991234567", "+8 999 123 45 67"]},
    ),
    MergeCase(
        "messengers_are_united_by_value",
        CONTACT,
        (
            {"NAME": "Ivan", "IM": [{"VALUE": "ivan_tg", "VALUE_TYPE": "TELEGRAM"}]},
            {
                "NAME": "Ivan",
                "IM": [
                    {"VALUE": "IVAN_TG", "VALUE_TYPE": "SKYPE"},
                    {"VALUE": "ivan.s", "VALUE_TYPE": "SKYPE"},
                ],
            },
        ),
        MergeStatus.SUCCESS,
        "entitymerger.php:2582-2584 (IM: any type, lower-cased value)",
        expected={"IM": ["ivan_tg", "ivan.s"]},
    ),
    MergeCase(
        "websites_are_united_case_insensitively",
        COMPANY,
        (
            {"TITLE": "R", "WEB": [{"VALUE": "Example.com", "VALUE_TYPE": "WORK"}]},
            {"TITLE": "R", "WEB": [{"VALUE": "example.COM ", "VALUE_TYPE": "HOME"}]},
        ),
        MergeStatus.SUCCESS,
        "entitymerger.php:2582-2584",
        expected={"WEB": ["Example.com"]},
    ),
    # -- 3. bindings the emulator keeps as a field -----------------------------------------
    MergeCase(
        "contact_company_binding_moves_to_the_survivor",
        CONTACT,
        ({"NAME": "Ivan"}, {"NAME": "Ivan", "COMPANY_ID": "7"}),
        MergeStatus.SUCCESS,
        "contactmerger.php:141-157; entitybindingmerger.php:21-129",
        expected={"COMPANY_ID": "7"},
    ),
    MergeCase(
        "contact_company_bindings_never_conflict",
        CONTACT,
        ({"NAME": "Ivan", "COMPANY_ID": "7"}, {"NAME": "Ivan", "COMPANY_ID": "8"}),
        MergeStatus.SUCCESS,
        "contactmerger.php:141-149 (COMPANY_ID is not compared)",
        expected={"COMPANY_ID": "7"},
    ),
    MergeCase(
        "lead_contact_binding_moves_to_the_survivor",
        LEAD,
        ({"TITLE": "L"}, {"TITLE": "L", "CONTACT_ID": "9"}),
        MergeStatus.SUCCESS,
        "leadmerger.php:163-174,212-216",
        expected={"CONTACT_ID": "9"},
    ),
    MergeCase(
        "lead_contact_bindings_never_conflict",
        LEAD,
        ({"TITLE": "L", "CONTACT_ID": "9"}, {"TITLE": "L", "CONTACT_ID": "10"}),
        MergeStatus.SUCCESS,
        "leadmerger.php:163-174",
        expected={"CONTACT_ID": "9"},
    ),
)
