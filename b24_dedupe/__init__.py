"""b24-dedupe: the command line and what the services share."""
