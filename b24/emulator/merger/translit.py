"""``CUtil::translit`` with the options of the name rule (namefield.php:129-157).

``main/classes/general/util.php:629-730``: Latin letters and digits stay; whitespace
becomes the space replacement; a character of the language's table becomes its
transliteration (possibly nothing: ъ, ь); any other character becomes ``_``. The
name rule asks for lower case, a space for spaces, ``_`` for the rest, no merging of
repeated replacements and at most 100 characters.
"""

from __future__ import annotations

import re

from b24.emulator.merger.language import Language

_ASCII_ALNUM = re.compile(r"[a-zA-Z0-9]")
_SPACE = re.compile(r"\s")
MAX_LEN = 100


def translit(value: str, lang: Language) -> str:
    table = lang.translit
    result: list[str] = []
    length = 0
    for char in value:
        if _ASCII_ALNUM.fullmatch(char):
            new = char
        elif _SPACE.fullmatch(char):
            new = " "
        elif char in table:
            new = table[char]
        else:
            new = "_"
        if new != "":
            result.append(new)
            length += len(new)
        if length >= MAX_LEN:
            break
    return "".join(result).lower()
