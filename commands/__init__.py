"""The ``b24-dedupe`` command line: every subcommand, registered in :mod:`commands.main`."""
