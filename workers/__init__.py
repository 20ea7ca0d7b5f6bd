"""Celery workers, webhook intake and the CLI (top layer: imports sync, mappings, connectors)."""
