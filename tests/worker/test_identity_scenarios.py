"""One customer written differently is merged; two customers that look alike are not.

End to end (emulator -> events -> ingress -> Redis -> worker). Where names agree only
through our identity rules, the worker makes the seeds' spelling agree with the
survivor's before mergeBatch (Bitrix24 resolves only some of these itself).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from b24_dedupe.decisions import Decision
from tests.worker.conftest import StartStack

Fields = dict[str, Any]

SAME = [
    pytest.param("CONTACT", {"NAME": "Сергей", "LAST_NAME": "Иванов"},
                 {"NAME": "Sergey", "LAST_NAME": "Ivanov"}, id="cyrillic_and_latin"),
    pytest.param("CONTACT", {"NAME": "Сергей", "LAST_NAME": "Иванов"},
                 {"NAME": "Sergei", "LAST_NAME": "Ivanov"}, id="another_transliteration"),
    pytest.param("CONTACT", {"NAME": "Фёдор", "LAST_NAME": "Котов"},
                 {"NAME": "Федор", "LAST_NAME": "Котов"}, id="yo_and_ye"),
    pytest.param("CONTACT", {"NAME": "Ivan", "LAST_NAME": "Petrov"},
                 {"NAME": "Ivan Petrov"}, id="packed_into_name"),
    pytest.param("CONTACT", {"NAME": "Ivan", "LAST_NAME": "Petrov"},
                 {"NAME": "Petrov", "LAST_NAME": "Ivan"}, id="first_and_last_swapped"),
    pytest.param("CONTACT", {"NAME": "Anna", "SECOND_NAME": "Sergeevna", "LAST_NAME": "Volkova"},
                 {"NAME": "Anna", "LAST_NAME": "Volkova"}, id="missing_second_name"),
    pytest.param("CONTACT", {"NAME": "Kim", "LAST_NAME": "Safe."},
                 {"NAME": "kim", "LAST_NAME": "SAFE"}, id="case_and_trailing_dot"),
    pytest.param("COMPANY", {"TITLE": "ООО «Ромашка»"}, {"TITLE": "Ромашка, ООО"},
                 id="legal_form_and_quotes"),
    pytest.param("COMPANY", {"TITLE": "ООО «Ромашка»"}, {"TITLE": "Romashka LLC"},
                 id="legal_form_in_english"),
    pytest.param("COMPANY", {"TITLE": "ООО Ромашка", "UF_CRM_INN": "7701234567"},
                 {"TITLE": "Ромашка-Сервис", "UF_CRM_INN": "7701234567"},
                 id="one_tax_number_two_titles"),
]  # fmt: skip
APART = [
    pytest.param("CONTACT", {"NAME": "Ann"}, {"NAME": "Joanna"}, id="ann_is_not_joanna"),
    pytest.param("CONTACT", {"NAME": "Elena", "LAST_NAME": "Ivanova"},
                 {"NAME": "Elena", "LAST_NAME": "Petrova"}, id="two_elenas"),
    pytest.param("CONTACT", {"NAME": "Ivan", "SECOND_NAME": "Petrovich", "LAST_NAME": "Orlov"},
                 {"NAME": "Ivan", "SECOND_NAME": "Ivanovich", "LAST_NAME": "Orlov"},
                 id="father_and_son"),
    pytest.param("COMPANY", {"TITLE": "Ромашка", "UF_CRM_INN": "7701234567"},
                 {"TITLE": "Ромашка", "UF_CRM_INN": "7801234567"}, id="two_tax_numbers"),
    pytest.param("COMPANY", {"TITLE": "ООО «Ромашка»"}, {"TITLE": "ООО «Василёк»"},
                 id="two_companies"),
]  # fmt: skip
RULES = '[company]\nUF_CRM_INN = "identity"\n'
SEED = {"user_fields": {"COMPANY": {"UF_CRM_INN": {"title": "INN", "type": "string"}}}}


async def _pair(stack: Any, entity: str, first: Fields, second: Fields) -> tuple[int, int]:
    a = await stack.add(entity, PHONE=["+7 903 777-00-11"], **first)
    await stack.settle()
    b = await stack.add(entity, PHONE=["8 (903) 777-00-11"], **second)
    await stack.settle()
    return a, b


@pytest.mark.parametrize(("entity", "first", "second"), SAME)
async def test_one_customer_written_differently_is_merged(
    start_stack: StartStack, tmp_path: Path, entity: str, first: Fields, second: Fields
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    stack = await start_stack(seed=SEED, merge_rules_file=str(rules))
    a, b = await _pair(stack, entity, first, second)
    merges = [e for e in await stack.decisions(entity, a) if e.decision == Decision.MERGED]
    assert [m.group for m in merges] == [[a, b]], [
        (e.decision, e.reason) for e in await stack.decisions(entity, b)
    ]
    assert await stack.exists(entity, a) and not await stack.exists(entity, b)
    survivor = stack.record(entity, a)
    for code, value in first.items():  # the survivor keeps its own spelling
        assert survivor[code] == value, code


@pytest.mark.parametrize(("entity", "first", "second"), APART)
async def test_two_customers_that_look_alike_stay_apart(
    start_stack: StartStack, tmp_path: Path, entity: str, first: Fields, second: Fields
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    stack = await start_stack(seed=SEED, merge_rules_file=str(rules))
    a, b = await _pair(stack, entity, first, second)
    assert await stack.exists(entity, a) and await stack.exists(entity, b)
    entry = await stack.last_decision(entity, b)
    assert entry.decision == Decision.NO_MERGE, entry.reason
    assert entry.excluded[str(a)].startswith("identity differs"), entry.excluded
    assert stack.emulator.engine.stats.commands["crm.entity.mergebatch"] == 0
