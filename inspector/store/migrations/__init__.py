"""Alembic migrations shipped inside the package (run by ``inspector.store.db.migrate``)."""
