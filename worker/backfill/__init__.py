"""The backfill: a whole portal's duplicates at the list floor (``b24-dedupe scan``).

Read each record once, 2,500 a request (:mod:`.reading`); keep what the decision needs
and an index of evidence values on disk (:mod:`.state`); group the records that share
values locally; send each group through the live path's policy, merge and audit
(:mod:`.groups`); share the portal with the live service (:mod:`.sharing`). The steps
and their checkpoints: :mod:`.run`.
"""
