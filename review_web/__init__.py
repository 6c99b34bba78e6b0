"""The review page: a person settles in a browser what the service would not merge.

A separate aiohttp service (``b24-dedupe review``), never on the ingress's port:
server-rendered pages (jinja2) and plain HTML forms. It reads the review queue, the
audit and the dry-run proposals from Redis, and hands every action (merge, not
duplicates, restore, approve) to a worker as an arq job, so that it runs through the
worker's own path, locks and audit.
"""
