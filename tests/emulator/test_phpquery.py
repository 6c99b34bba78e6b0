"""PHP-style query strings: parsing as PHP's parse_str does, and encoding back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from b24.phpquery import QueryError, encode_php_query, parse_php_query


def test_appended_and_indexed_lists() -> None:
    assert parse_php_query("values[]=a&values[]=b") == {"values": ["a", "b"]}
    assert parse_php_query("values[0]=a&values[1]=b") == {"values": ["a", "b"]}


def test_nested_multifield_structure() -> None:
    parsed = parse_php_query(
        "fields[NAME]=Ivan&fields[PHONE][0][VALUE]=%2B7+999&fields[PHONE][0][VALUE_TYPE]=WORK"
    )
    assert parsed == {
        "fields": {"NAME": "Ivan", "PHONE": [{"VALUE": "+7 999", "VALUE_TYPE": "WORK"}]}
    }


def test_params_entity_ids() -> None:
    parsed = parse_php_query("params[entityTypeId]=3&params[entityIds][]=1&params[entityIds][]=2")
    assert parsed == {"params": {"entityTypeId": "3", "entityIds": ["1", "2"]}}


def test_non_sequential_keys_stay_an_object() -> None:
    assert parse_php_query("a[2]=x&a[5]=y") == {"a": {"2": "x", "5": "y"}}
    assert parse_php_query("cmd[first]=crm.contact.get%3Fid%3D1") == {
        "cmd": {"first": "crm.contact.get?id=1"}
    }


def test_later_duplicate_wins_and_blank_values_kept() -> None:
    assert parse_php_query("a=1&a=2&b=") == {"a": "2", "b": ""}


def test_invalid_utf8_is_a_query_error() -> None:
    with pytest.raises(QueryError):
        parse_php_query(b"a=\xff\xfe")


def test_encode_matches_php_http_build_query() -> None:
    encoded = encode_php_query({"data": {"FIELDS": {"ID": 5}}, "flag": True, "none": None})
    assert encoded == "data%5BFIELDS%5D%5BID%5D=5&flag=1&none="
    assert parse_php_query(encoded) == {"data": {"FIELDS": {"ID": "5"}}, "flag": "1", "none": ""}


scalars = st.text(min_size=0, max_size=8)
keys = st.text(
    alphabet=st.characters(whitelist_categories=("Ll", "Lu", "Nd")), min_size=1, max_size=6
).filter(lambda k: not k.isdigit())
trees = st.recursive(
    scalars,
    lambda children: (
        st.dictionaries(keys, children, min_size=1, max_size=4)
        | st.lists(children, min_size=1, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(keys, trees, min_size=1, max_size=4))
def test_encode_then_parse_round_trips(params: dict[str, object]) -> None:
    assert parse_php_query(encode_php_query(params)) == params
