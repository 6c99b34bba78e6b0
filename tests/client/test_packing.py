"""Pure parts of the call path: reads and writes, batch commands, packing, pacing."""

from __future__ import annotations

import asyncio
from collections import deque

import pytest

from b24.client.batching import BatchPolicy, PendingCall, pack
from b24.client.commands import Command, is_read, method_of_query
from b24.client.operating import MethodState, pace_interval
from b24.phpquery import parse_php_query


@pytest.mark.parametrize(
    "method",
    [
        "crm.contact.get",
        "crm.lead.list",
        "crm.company.fields",
        "crm.duplicate.findbycomm",
        "crm.multifield.fields",
        "crm.duplicate.volatileType.fields",
        "crm.duplicate.volatileType.list",
        "crm.enum.ownertype",
        "CRM.Contact.Get",
    ],
)
def test_reads(method: str) -> None:
    assert is_read(method)


@pytest.mark.parametrize(
    "method",
    [
        "crm.contact.add",
        "crm.lead.update",
        "crm.company.delete",
        "crm.entity.mergeBatch",
        "crm.duplicate.volatileType.register",
        "crm.duplicate.volatileType.unregister",
        "some.future.method",
    ],
)
def test_writes_and_unknown_methods_are_not_reads(method: str) -> None:
    assert not is_read(method)


def test_a_command_is_encoded_as_php_reads_it() -> None:
    command = Command(
        "crm.duplicate.findbycomm", {"type": "PHONE", "values": ["+7 999 123-45-67", "a&b"]}
    )
    method, _, query = command.query().partition("?")
    assert method == "crm.duplicate.findbycomm"
    assert parse_php_query(query) == {"type": "PHONE", "values": ["+7 999 123-45-67", "a&b"]}
    assert Command("crm.enum.ownertype").query() == "crm.enum.ownertype"
    assert method_of_query("crm.contact.get?id=$result[a][ID]") == "crm.contact.get"


def pending(loop: asyncio.AbstractEventLoop, method: str, n: int = 1) -> list[PendingCall]:
    return [PendingCall(Command(method, {"id": i}), loop.create_future(), True) for i in range(n)]


async def test_pack_takes_at_most_fifty_oldest_first() -> None:
    loop = asyncio.get_running_loop()
    queue = deque(pending(loop, "crm.contact.get", 120))
    first = pack(queue, BatchPolicy())
    assert [c.command.params["id"] for c in first] == list(range(50))
    assert len(pack(queue, BatchPolicy())) == 50
    assert len(pack(queue, BatchPolicy())) == 20
    assert not queue


async def test_pack_limits_merges_per_request_and_keeps_their_place() -> None:
    loop = asyncio.get_running_loop()
    merges = pending(loop, "crm.entity.mergeBatch", 7)
    reads = pending(loop, "crm.contact.get", 3)
    queue = deque([*merges[:4], reads[0], *merges[4:], *reads[1:]])
    policy = BatchPolicy(per_request={"crm.entity.mergebatch": 5})
    first = pack(queue, policy)
    assert first == [*merges[:4], reads[0], merges[4], *reads[1:]]
    assert list(queue) == merges[5:]


async def test_pack_sends_a_batch_call_alone_and_drops_abandoned_calls() -> None:
    loop = asyncio.get_running_loop()
    gets = pending(loop, "crm.contact.get", 3)
    explicit = pending(loop, "batch")[0]
    gets[1].future.cancel()
    queue = deque([gets[0], explicit, gets[1], gets[2]])
    assert pack(queue, BatchPolicy()) == [gets[0], gets[2]]
    assert pack(queue, BatchPolicy()) == [explicit]
    assert not queue


def test_a_method_far_from_its_budget_is_not_paced() -> None:
    state = MethodState(operating=100, reset_at=1_000, cost=2)
    assert pace_interval(state, limit=480, slow_from=0.8, now=900) == 0


def test_a_method_near_its_budget_spreads_what_is_left_until_the_reset() -> None:
    # 48 s left of 480, 2 s a call: 24 calls fit in the 120 s to the reset.
    state = MethodState(operating=432, reset_at=1_000, cost=2)
    assert pace_interval(state, limit=480, slow_from=0.8, now=880) == pytest.approx(5.0)
    spent = MethodState(operating=480, reset_at=1_000, cost=2)
    assert pace_interval(spent, limit=480, slow_from=0.8, now=880) == pytest.approx(120)


def test_stale_budget_figures_do_not_slow_a_method() -> None:
    state = MethodState(operating=479, reset_at=1_000, cost=2)
    assert pace_interval(state, limit=480, slow_from=0.8, now=1_001) == 0
