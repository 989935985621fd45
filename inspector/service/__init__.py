"""Service plumbing of the inspector daemon (no decision logic in here).

Modules: ``intake`` (spool claims, triggers, quarantine), ``daemon`` (the four threads and
the ordered stop), ``publisher`` + ``mqtt_link`` (outbox -> MQTT QoS 1), ``messages`` (the
result JSON, ``inspector/schemas/result.schema.json``), ``artifacts``, ``metrics``
(Prometheus), ``notify`` (systemd), ``deciders`` (loading the per-type Deciders).

MQTT topics, under ``<prefix>/<line>/<station>/``:

- ``result``  QoS 1, one message per inspection (at-least-once; ``inspection_id`` is the
  idempotency key: a repeat always carries the same decision).
- ``status``  retained: ``online`` on every connect, ``offline`` as last will / clean stop.
- ``trigger`` (subscribed) ``{"file": "<relative to the spool>", "weld_id", "weld_type",
  "part_serial"}``; a path leaving the spool is refused.
- ``event``   QoS 1: ``{"event": "trigger_rejected", "reason", "message", "trigger"}``.
"""
