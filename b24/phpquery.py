"""PHP-style query strings, as Bitrix24 (a PHP application) reads and writes them.

Bitrix24 accepts parameters the way PHP's ``parse_str`` builds ``$_REQUEST``:
``values[]=a&values[]=b`` is a list, ``fields[PHONE][0][VALUE]=x`` a nested
structure. Outbound events are sent in the same encoding
(``data[FIELDS][ID]=5``). Both directions live here, free of I/O.

Parsed PHP arrays come back as ``dict`` with ``str`` keys; :func:`php_array_values`
turns one whose keys are ``0..n-1`` into a list, as PHP's ``json_encode`` would.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, quote

_KEY = re.compile(r"\[([^\]]*)\]")

# PHP's max_input_nesting_level defaults to 64; deeper keys are cut there.
MAX_DEPTH = 64


class QueryError(ValueError):
    """A query string that cannot be read as PHP would read it."""


def parse_php_query(query: str | bytes, *, max_fields: int = 10_000) -> dict[str, Any]:
    """Parse ``query`` into nested dicts, as PHP's ``parse_str`` does.

    Lists stay dicts keyed ``"0"``, ``"1"`` … until :func:`normalise_arrays`;
    later duplicate keys win, as in PHP.
    """
    if isinstance(query, bytes):
        try:
            query = query.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise QueryError("the body is not valid UTF-8") from exc
    pairs = parse_qsl(query, keep_blank_values=True, max_num_fields=max_fields)
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        _assign(root, raw_key, value)
    # The top level is always an object of parameters, even for keys "0", "1", ...
    return {key: normalise_arrays(value) for key, value in root.items()}


def _split_key(raw_key: str) -> list[str] | None:
    bracket = raw_key.find("[")
    if bracket <= 0:
        return [raw_key] if raw_key else None
    head = raw_key[:bracket]
    rest = raw_key[bracket:]
    parts = [head]
    pos = 0
    for match in _KEY.finditer(rest):
        if match.start() != pos:
            break
        parts.append(match.group(1))
        pos = match.end()
        if len(parts) > MAX_DEPTH:
            break
    if pos == 0:
        # "a[b" : PHP keeps the whole thing as a plain key (with "[" turned into "_").
        return [raw_key.replace("[", "_", 1)]
    return parts


def _assign(root: dict[str, Any], raw_key: str, value: str) -> None:
    parts = _split_key(raw_key)
    if not parts:
        return
    node: dict[str, Any] = root
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if part == "" and depth > 0:
            part = str(_next_index(node))
        if last:
            node[part] = value
            return
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child


def _next_index(node: Mapping[str, Any]) -> int:
    numeric = [int(k) for k in node if k.lstrip("-").isdigit()]
    return max(numeric) + 1 if numeric else 0


def normalise_arrays(value: Any) -> Any:
    """Turn dicts keyed ``"0".."n-1"`` (in order) into lists, recursively."""
    if isinstance(value, dict):
        converted = {k: normalise_arrays(v) for k, v in value.items()}
        return php_array_values(converted)
    if isinstance(value, list):
        return [normalise_arrays(v) for v in value]
    return value


def php_array_values(mapping: dict[str, Any]) -> dict[str, Any] | list[Any]:
    """A PHP array with keys 0..n-1 in order is a JSON list; any other is an object."""
    if mapping and all(key == str(i) for i, key in enumerate(mapping)):
        return list(mapping.values())
    return mapping


def encode_php_query(params: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """Encode nested params as a PHP-style query string (``a[b][0]=c``).

    Booleans become ``1``/``0`` and ``None`` an empty value, as PHP's
    ``http_build_query`` does with ``true``/``false``/``null``.
    """
    items = params.items() if isinstance(params, Mapping) else params
    out: list[str] = []
    for key, value in items:
        _encode_into(out, quote(str(key), safe=""), value)
    return "&".join(out)


def _encode_into(out: list[str], prefix: str, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            _encode_into(out, f"{prefix}%5B{quote(str(key), safe='')}%5D", item)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _encode_into(out, f"{prefix}%5B{index}%5D", item)
    elif isinstance(value, bool):
        out.append(f"{prefix}={int(value)}")
    elif value is None:
        out.append(f"{prefix}=")
    else:
        out.append(f"{prefix}={quote(str(value), safe='')}")
