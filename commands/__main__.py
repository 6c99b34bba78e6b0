"""``python -m commands``: the same as ``b24-dedupe``."""

import sys

from commands.main import main

sys.exit(main())
