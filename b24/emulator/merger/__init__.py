"""Bitrix24's duplicate merger, as ``crm.entity.mergeBatch`` runs it (crm/lib/merger/).

One concern per module:

- :mod:`.php`: PHP's loose equality, casts and trim, as the merger relies on them;
- :mod:`.language`: what the portal's language changes (placeholders, translit table,
  separator date);
- :mod:`.translit`: ``CUtil::translit`` with the name rule's options;
- :mod:`.resolvers`: the field resolvers (plain equality, string steps, joined text,
  ignored and source fields, lead opportunity);
- :mod:`.names`: the name rules;
- :mod:`.kinds`: each field's type, whether it is compared and its resolver;
- :mod:`.user_fields`, :mod:`.multifields`: custom fields and PHONE/EMAIL/WEB/IM;
- :mod:`.merge`: one merge decided in memory (:func:`~.merge.plan_merge`).

The REST method itself (ids, answers, writes, events) is in
:mod:`b24.emulator.duplicates`.
"""
