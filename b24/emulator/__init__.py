"""A Bitrix24 portal emulator: the REST methods b24-dedupe uses, with their limits.

Every behaviour follows the public REST docs and, for mergeBatch, findbycomm and the
limits, the Bitrix24 PHP source (docs/emulator.md, "Which Bitrix24 rules it follows").
Where they are silent or unsure, the module that decides says so in a comment and the
choice is a field of :class:`~b24.emulator.config.EmulatorConfig`.
"""

from b24.emulator.app import create_app
from b24.emulator.config import EmulatorConfig

__all__ = ["EmulatorConfig", "create_app"]
