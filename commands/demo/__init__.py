"""``b24-dedupe demo``: the service against a seeded emulated portal."""
