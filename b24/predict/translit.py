"""``CUtil::translit`` with the portal language's table, as the name resolver calls it.

Source: ``modules/main/classes/general/util.php:629-730`` [M] (``translit``); tables
``modules/main/lang/{ru,en}/js_core_translit.php`` [B]. The name resolver passes
``max_len 100, change_case L, replace_space ' ', replace_other '_', delete_repeat_replace
false, safe_chars ''`` (``crm/lib/merger/conflictresolver/namefield.php:136-145``).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from b24.predict.php import mb_lower

# modules/main/lang/ru/js_core_translit.php [B]: TRANS_FROM / TRANS_TO, exploded on ",".
# ъ and ь map to "" (dropped); ё -> ye, х -> kh, щ -> shch; Ukrainian і ї ґ are included.
_RU_FROM = (
    "а,б,в,г,д,е,ё,ж,з,и,й,к,л,м,н,о,п,р,с,т,у,ф,х,ц,ч,ш,щ,ъ,ы,ь,э,ю,я,"
    "А,Б,В,Г,Д,Е,Ё,Ж,З,И,Й,К,Л,М,Н,О,П,Р,С,Т,У,Ф,Х,Ц,Ч,Ш,Щ,Ъ,Ы,Ь,Э,Ю,Я,і,І,ї,Ї,ґ,Ґ"
)
_RU_TO = (
    "a,b,v,g,d,e,ye,zh,z,i,y,k,l,m,n,o,p,r,s,t,u,f,kh,ts,ch,sh,shch,,y,,e,yu,ya,"
    "A,B,V,G,D,E,YE,ZH,Z,I,Y,K,L,M,N,O,P,R,S,T,U,F,KH,TS,CH,SH,SHCH,,Y,,E,YU,YA,i,I,i,I,g,G"
)

# modules/main/lang/en/js_core_translit.php [B]: TRANS_FROM = TRANS_TO = "" — the English
# table maps nothing, so every non-Latin letter becomes the replacement character.
TRANSLIT_TABLES: dict[str, dict[str, str]] = {
    "ru": dict(zip(_RU_FROM.split(","), _RU_TO.split(","), strict=True)),
    "en": {},
}

_KEPT = re.compile(r"[a-zA-Z0-9]")


def _is_pcre_space(char: str) -> bool:
    """``preg_match("/\\s/u", $chr)``: PHP's /u turns on PCRE2 UCP, so \\s is any Unicode
    separator (Zs, Zl, Zp) plus tab, LF, VT, FF and CR."""
    return char in "\t\n\x0b\x0c\r" or unicodedata.category(char) in ("Zs", "Zl", "Zp")


def translit_table(language: str) -> Mapping[str, str]:
    """The table for a portal language (``ru`` or ``en``)."""
    try:
        return TRANSLIT_TABLES[language]
    except KeyError:
        raise ValueError(
            f"no transliteration table for language {language!r}: one of "
            + ", ".join(sorted(TRANSLIT_TABLES))
        ) from None


def translit(
    value: str,
    table: Mapping[str, str],
    *,
    max_len: int = 100,
    change_case: str = "L",
    replace_space: str = " ",
    replace_other: str = "_",
    delete_repeat_replace: bool = False,
    safe_chars: str = "",
) -> str:
    """``CUtil::translit($value, $lang, $params)``; defaults are namefield.php's params.

    util.php:657-718: per character, ``[a-zA-Z0-9]`` and safe chars are kept; whitespace
    becomes ``replace_space``; a mapped character its table entry (possibly empty, then
    dropped); anything else ``replace_other``. With ``delete_repeat_replace`` a replacement is
    skipped at the start, after an identical one, and (for other chars) at the very end.
    The length check runs after each append, so the result can pass ``max_len`` by the
    length of the last multi-letter entry (e.g. 103 with "shch"). util.php:720-727: case last.
    """
    chars = list(value)  # mb_str_split
    length = len(chars)
    out: list[str] = []
    out_len = 0
    last_new = ""
    for index, char in enumerate(chars):
        if _KEPT.fullmatch(char) or (safe_chars != "" and char in safe_chars):
            new = char
        elif _is_pcre_space(char):
            if not delete_repeat_replace or (index > 0 and last_new != replace_space):
                new = replace_space
            else:
                new = ""
        elif char in table:
            new = table[char]
        elif not delete_repeat_replace or (
            index > 0 and index != length - 1 and last_new != replace_other
        ):
            new = replace_other
        else:
            new = ""
        if new != "":
            out.append(new)
            out_len += len(new)
            last_new = new
        if out_len >= max_len:
            break
    result = "".join(out)
    if change_case in ("L", "l"):
        return mb_lower(result)
    if change_case in ("U", "u"):
        return result.upper()
    return result
