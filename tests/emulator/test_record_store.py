"""RecordStore: the ID index follows every change made through the mapping."""

from __future__ import annotations

import copy
import pickle

from b24.emulator import record_store
from b24.emulator.record_store import IdRange, RecordStore


def ids_of(records: object) -> list[int]:
    return [int(r["ID"]) for r in records]  # type: ignore[attr-defined]


def store_of(*ids: int) -> RecordStore:
    return RecordStore((i, {"ID": str(i)}) for i in ids)


def test_ids_stay_ascending_whatever_the_order_of_adds() -> None:
    store = store_of(5, 9, 2, 7)
    store[1] = {"ID": "1"}
    store[12] = {"ID": "12"}
    store[5] = {"ID": "5", "NAME": "replaced"}  # an update does not index twice
    assert store.ids() == [1, 2, 5, 7, 9, 12]
    assert ids_of(store.walk()) == [1, 2, 5, 7, 9, 12]
    assert ids_of(store.walk(descending=True)) == [12, 9, 7, 5, 2, 1]


def test_walk_bounds_inclusive_exclusive_and_fractional() -> None:
    store = store_of(*range(1, 11))
    assert ids_of(store.walk(IdRange(low=3))) == [4, 5, 6, 7, 8, 9, 10]
    assert ids_of(store.walk(IdRange(low=3, low_inclusive=True, high=5))) == [3, 4]
    assert ids_of(store.walk(IdRange(low=2.5, high=5.5))) == [3, 4, 5]
    assert ids_of(store.walk(IdRange(high=3, high_inclusive=True), descending=True)) == [3, 2, 1]
    assert ids_of(store.walk(IdRange(low=8, high=4))) == []
    assert ids_of(store.walk(IdRange(low=10))) == []


def test_every_way_of_removing_a_record_leaves_the_walk() -> None:
    store = store_of(*range(1, 11))
    del store[2]
    assert store.pop(3) == {"ID": "3"}
    assert store.pop(99, None) is None
    store.popitem()  # the last one added: 10
    assert ids_of(store.walk()) == [1, 4, 5, 6, 7, 8, 9]
    assert store.window(IdRange(low=1), 1, 3) == (6, [{"ID": str(i)} for i in (5, 6, 7)])
    store[3] = {"ID": "3"}  # a deleted ID comes back, once
    assert store.ids() == [1, 3, 4, 5, 6, 7, 8, 9]
    store.update({11: {"ID": "11"}})
    store.setdefault(0, {"ID": "0"})
    store |= {12: {"ID": "12"}}
    assert ids_of(store.walk(IdRange(low=8))) == [9, 11, 12]
    assert ids_of(store.walk(IdRange(high=3))) == [0, 1]
    store.clear()
    assert list(store.walk()) == [] and store.ids() == []


def test_many_deletes_compact_the_index() -> None:
    store = store_of(*range(1, 5001))
    for i in range(1, 5001, 2):
        del store[i]
    assert len(store._ids) < 5000  # rebuilt once a quarter was stale
    assert ids_of(store.walk(IdRange(low=4990))) == [4992, 4994, 4996, 4998, 5000]
    assert store.window(IdRange(), 0, 2, descending=True)[0] == 2500
    assert store._stale == 0 and len(store._ids) == 2500
    assert record_store.COMPACT_AT <= 2500


def test_copies_keep_the_index() -> None:
    store = store_of(3, 1, 2)
    for clone in (store.copy(), copy.deepcopy(store), pickle.loads(pickle.dumps(store))):
        assert isinstance(clone, RecordStore)
        assert ids_of(clone.walk()) == [1, 2, 3]
