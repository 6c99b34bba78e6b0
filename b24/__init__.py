"""Bitrix24 protocol code: query encoding, the REST client, events, the portal emulator."""
