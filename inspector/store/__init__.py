"""Inspection store: SQLAlchemy models, engine set-up with migrations, and the outbox."""

from inspector.store.db import open_store
from inspector.store.models import Artifact, Inspection, OutboxMessage, Review

__all__ = ["Artifact", "Inspection", "OutboxMessage", "Review", "open_store"]
