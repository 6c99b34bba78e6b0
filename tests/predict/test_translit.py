"""CUtil::translit with namefield.php's params (util.php:629-730 [M],
js_core_translit.php [B])."""

from __future__ import annotations

import pytest

from b24.predict import TRANSLIT_TABLES, translit

RU, EN = TRANSLIT_TABLES["ru"], TRANSLIT_TABLES["en"]

# fmt: off
CASES = [
    ("Сергей", RU, "sergey"),           # й -> y, lower case at the end (util.php:720-723)
    ("Ёлка", RU, "yelka"),              # Ё -> YE -> ye
    ("Щукин", RU, "shchukin"),          # щ -> shch
    ("Хрущёв", RU, "khrushchyev"),      # х -> kh
    ("Подъезд", RU, "podezd"),          # ъ -> "" dropped (util.php:708-712)
    ("Ильич", RU, "ilich"),             # ь dropped
    ("Їжак", RU, "izhak"),              # Ukrainian letters in the ru table
    ("Иван Петров", RU, "ivan petrov"),  # spaces kept (replace_space ' ')
    ("a  b", RU, "a  b"),               # delete_repeat_replace false: both spaces stay
    ("a\u00a0b\tc", RU, "a b c"),       # any \s (UCP) becomes ' '
    ("O'Brien", RU, "o_brien"),         # unmapped -> '_'
    ("Anna-Maria", EN, "anna_maria"),
    ("--x--", EN, "__x__"),             # no repeat deletion with these params
    ("Иван", EN, "____"),               # en table is empty
    ("Олег", EN, "____"),
    ("Sergey", EN, "sergey"),
    ("Åsa", RU, "_sa"),                 # Latin letters outside [a-zA-Z] are unmapped
]
# fmt: on


@pytest.mark.parametrize(("value", "table", "expected"), CASES)
def test_translit(value: str, table: dict[str, str], expected: str) -> None:
    assert translit(value, table) == expected


def test_max_len_checked_after_append() -> None:
    # util.php:714-717: the check runs after a multi-letter entry is appended
    assert translit("щ" * 30, RU) == "shch" * 25
    assert translit("a" * 99 + "щщ", RU) == "a" * 99 + "shch"
    assert len(translit("x" * 150, RU)) == 100


def test_delete_repeat_replace_default_params() -> None:
    # util.php:672-705 with CUtil's own defaults (not used by the merger)
    assert translit(" a  b!! c!", EN, replace_space="_", delete_repeat_replace=True) == "a_b_c"
