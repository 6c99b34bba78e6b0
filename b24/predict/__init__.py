"""A pure predictor of Bitrix24's ``crm.entity.mergeBatch`` verdict.

Given the records (as ``crm.{type}.get`` shows them, in ``entityIds`` order) and the field
description (``crm.{type}.fields``), :func:`predict_merge` says whether Bitrix24 would merge
them (SUCCESS), refuse (CONFLICT, with every refusing field) or reject the request (ERROR),
and what the survivor would look like afterwards.

Written from the Bitrix24 PHP source (the crm merger; each rule cites its file and line),
independently of the emulator's merger (``b24.emulator``), so that each checks the other.
Modules: :mod:`.php` (PHP semantics), :mod:`.resolvers`, :mod:`.strings`, :mod:`.names`
(the conflict resolvers), :mod:`.translit`, :mod:`.phones`, :mod:`.fields` (which field gets
what), :mod:`.multifields`, :mod:`.userfields` and :mod:`.merger` (the engine).
"""

from b24.predict.fields import treatment
from b24.predict.merger import predict_merge
from b24.predict.phones import normalize_phone
from b24.predict.translit import TRANSLIT_TABLES, translit
from b24.predict.verdict import FieldConflict, Status, Verdict

__all__ = [
    "TRANSLIT_TABLES",
    "FieldConflict",
    "Status",
    "Verdict",
    "normalize_phone",
    "predict_merge",
    "translit",
    "treatment",
]
