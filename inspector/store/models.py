"""ORM models: inspections (all), artifacts (FAIL/ERROR evidence), measurements (the gauge's
figures), reviews, the outbox.

The schema itself is created by the alembic migrations in ``inspector/store/migrations``;
these classes must match them (a test compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(t: datetime) -> datetime:
    """SQLite hands back naive datetimes: they are UTC."""
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


class Inspection(Base):
    """One scan's decision. ``id`` is the idempotency key published with the result."""

    __tablename__ = "inspections"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
    scan_name: Mapped[str] = mapped_column(String(255))
    part_serial: Mapped[str | None] = mapped_column(String(64), index=True)
    weld_id: Mapped[str | None] = mapped_column(String(64))
    weld_type: Mapped[int | None] = mapped_column(Integer, index=True)
    decision: Mapped[str] = mapped_column(String(8), index=True)
    score: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    defect: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    bundle_version: Mapped[str | None] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)   # the published message

    artifacts: Mapped[list[Artifact]] = relationship(back_populates="inspection",
                                                     cascade="all, delete-orphan")
    measurements: Mapped[list[Measurement]] = relationship(
        back_populates="inspection", cascade="all, delete-orphan",
        order_by="Measurement.quantity")
    reviews: Mapped[list[Review]] = relationship(back_populates="inspection",
                                                 cascade="all, delete-orphan",
                                                 order_by="Review.id")


class Artifact(Base):
    """A file kept as evidence: the height-map PNG (``heightmap``) or the ``overlay`` PNG."""

    __tablename__ = "artifacts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"),
                                               index=True)
    kind: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                 index=True)
    inspection: Mapped[Inspection] = relationship(back_populates="artifacts")


class Measurement(Base):
    """One figure the gauge measured on the inspection's map, in mm (``bead_width_mm``,
    ``hole_diameter_mm``, ...): one row per quantity and inspection, for SPC."""

    __tablename__ = "measurements"
    __table_args__ = (Index("ix_measurements_quantity_inspection_id", "quantity",
                            "inspection_id"),)

    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"),
                                               primary_key=True)
    quantity: Mapped[str] = mapped_column(String(64), primary_key=True)
    value_mm: Mapped[float] = mapped_column(Float)
    inspection: Mapped[Inspection] = relationship(back_populates="measurements")


class Review(Base):
    """An operator's verdict on an inspection: ``confirmed-defect`` or ``false-reject``."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"),
                                               index=True)
    verdict: Mapped[str] = mapped_column(String(24))
    note: Mapped[str | None] = mapped_column(Text)
    reviewer: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    inspection: Mapped[Inspection] = relationship(back_populates="reviews")


class OutboxMessage(Base):
    """A message to publish; written in the inspection's transaction, sent in ``seq`` order.

    Pending while ``delivered_at`` and ``dead_at`` are both null. A *dead* row is one the
    broker will not accept (``dead_reason`` says why); it stays until an operator re-queues
    it (``inspector outbox retry``).
    """

    __tablename__ = "outbox"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    inspection_id: Mapped[str] = mapped_column(ForeignKey("inspections.id", ondelete="CASCADE"),
                                               index=True)
    topic: Mapped[str] = mapped_column(String(255))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    dead_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    dead_reason: Mapped[str | None] = mapped_column(Text)
