"""The dedupe worker (arq)."""
