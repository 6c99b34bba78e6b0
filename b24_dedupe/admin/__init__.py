"""Administration commands of ``b24-dedupe``: doctor, fields, enums, restore.

Each module adds its subcommand with ``register(commands)``; what they share (running
one piece of work against Redis and the portal, printing tables) is in
:mod:`.session` and :mod:`.output`.
"""
