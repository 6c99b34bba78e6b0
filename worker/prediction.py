"""What Bitrix24's merger will answer, known before mergeBatch is sent.

Each ``crm.entity.mergeBatch`` costs about 2 s of the method's 10-minute operating
budget (Bitrix24 docs: REST limits), and the merger refuses any difference its field
rules do not settle (``CONFLICT``). :func:`b24.predict.predict_merge` implements those
rules (from the Bitrix24 source); a group it says would conflict is not sent, and the
audit names the fields and their values. Our own identity policy (:mod:`worker.policy`)
has decided before this: the merger is more lenient than we are (it takes "Ann" for
"Joanna"), so a SUCCESS here never makes a merge safe, it only makes it possible.
"""

from __future__ import annotations

from typing import Any

from b24.predict import Verdict, predict_merge
from b24_dedupe.audit import merge_link
from b24_dedupe.decisions import Outcome
from worker.run import DedupeContext, Run


async def predict_group(
    context: DedupeContext, run: Run, group: list[int], records: dict[int, dict[str, Any]]
) -> Verdict:
    """The merger's verdict on ``group`` (survivor first) as the records were read."""
    fields = await context.fields.of(run.entity)
    return predict_merge(run.entity, [records[i] for i in group], fields, language=context.language)


def conflicting_fields(verdict: Verdict) -> dict[str, dict[str, Any]]:
    """``{"ASSIGNED_BY_ID": {"12": "1", "34": "7"}}``: each refusing field's values by record."""
    return {c.code: {str(i): v for i, v in c.values.items()} for c in verdict.conflicts}


def would_conflict(
    context: DedupeContext, run: Run, group: list[int], verdict: Verdict
) -> dict[str, Any]:
    """The audit outcome of a merge not sent because the merger would refuse it."""
    return {
        "status": Outcome.WOULD_CONFLICT,
        "fields": conflicting_fields(verdict),
        "link": merge_link(run.entity, group, context.portal_url),
    }


def refusal_reason(verdict: Verdict) -> str:
    codes = [c.code for c in verdict.conflicts]
    if codes:
        return "Bitrix24 would refuse this merge: " + ", ".join(codes) + " differ"
    return f"Bitrix24 would refuse this merge: {verdict.reason}"
