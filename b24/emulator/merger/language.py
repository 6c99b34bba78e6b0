"""What the portal's language changes in a merge: placeholders, transliteration, dates.

Bitrix24 reads these from its language files for ``LANGUAGE_ID``:

- placeholder names that count as "no value": the web-form template and the unnamed
  default (``contactmerger.php:383-399``, ``companymerger.php:451-467``;
  ``crm/lang/{en,ru}/lib/webform/entity.php``, ``crm/lang/{en,ru}/classes/general/
  crm_contact.php`` CRM_CONTACT_UNNAMED and ``crm_company.php`` CRM_COMPANY_UNTITLED);
- the transliteration table of ``CUtil::translit`` (``main/lang/{en,ru}/
  js_core_translit.php``): Russian maps Cyrillic, English is empty;
- the short date and time of the joined-text separator (``textfield.php:46-62``, the
  culture's SHORT_DATE_FORMAT and SHORT_TIME_FORMAT; inference: "d.m.Y H:i" for ru, the
  culture defaults "n/j/Y g:i a" for en, main/lib/localization/culture.php:93-131).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class Language:
    code: str
    contact_placeholders: tuple[str, ...]
    company_placeholders: tuple[str, ...]
    translit: dict[str, str]

    def separator_date(self, moment: datetime, fmt: str | None = None) -> str:
        if fmt is not None:
            return moment.strftime(fmt)
        if self.code == "ru":
            return moment.strftime("%d.%m.%Y %H:%M")
        # PHP "n/j/Y g:i a": no leading zeros, 12-hour clock, lower-case am/pm.
        hour = moment.hour % 12 or 12
        half = "am" if moment.hour < 12 else "pm"
        return f"{moment.month}/{moment.day}/{moment.year} {hour}:{moment.minute:02d} {half}"


_RU_FROM = (
    "а,б,в,г,д,е,ё,ж,з,и,й,к,л,м,н,о,п,р,с,т,у,ф,х,ц,ч,ш,щ,ъ,ы,ь,э,ю,я,"
    "А,Б,В,Г,Д,Е,Ё,Ж,З,И,Й,К,Л,М,Н,О,П,Р,С,Т,У,Ф,Х,Ц,Ч,Ш,Щ,Ъ,Ы,Ь,Э,Ю,Я,і,І,ї,Ї,ґ,Ґ"
)
_RU_TO = (
    "a,b,v,g,d,e,ye,zh,z,i,y,k,l,m,n,o,p,r,s,t,u,f,kh,ts,ch,sh,shch,,y,,e,yu,ya,"
    "A,B,V,G,D,E,YE,ZH,Z,I,Y,K,L,M,N,O,P,R,S,T,U,F,KH,TS,CH,SH,SHCH,,Y,,E,YU,YA,i,I,i,I,g,G"
)

LANGUAGES: dict[str, Language] = {
    "ru": Language(
        code="ru",
        contact_placeholders=("частное лицо", "Без имени"),
        company_placeholders=("юридическое лицо", "Без названия"),
        translit=dict(zip(_RU_FROM.split(","), _RU_TO.split(","), strict=True)),
    ),
    "en": Language(
        code="en",
        contact_placeholders=("individual", "No name"),
        company_placeholders=("company", "Untitled"),
        # TRANS_FROM = "" gives array_combine([""], [""]): no character is mapped.
        translit={"": ""},
    ),
}


def language(code: str) -> Language:
    try:
        return LANGUAGES[code]
    except KeyError:
        raise ValueError(
            f"unknown portal language {code!r}: one of {', '.join(LANGUAGES)}"
        ) from None
