"""What :func:`b24.predict.predict_merge` answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from b24.crm import MergeStatus

Status = Literal[MergeStatus.SUCCESS, MergeStatus.CONFLICT, MergeStatus.ERROR]


@dataclass(frozen=True)
class FieldConflict:
    """One field the merger would refuse to merge."""

    code: str  # "ASSIGNED_BY_ID"
    values: dict[int, Any]  # record id -> that record's raw value, for every record with one
    kind: str  # the resolver that refused: "equality", "string", "name", "user_field", …


@dataclass(frozen=True)
class Verdict:
    """The predicted outcome of ``crm.entity.mergeBatch`` for one request."""

    status: Status
    survivor: int | None  # the target: the first id of the request that exists
    seeds: list[int]  # the other ids, in request order, target and repeats removed
    conflicts: list[FieldConflict] = field(default_factory=list)  # all of them, field order
    merged: dict[str, Any] = field(default_factory=dict)  # the survivor after the merge
    reason: str = ""
