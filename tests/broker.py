"""A real mosquitto broker for tests (the runtime's LocalBroker) and an MQTT subscriber."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt

from inspector.service.local_broker import LocalBroker, free_port, wait_port
from inspector.service.subscriber import Subscriber

__all__ = ["Broker", "Subscriber", "free_port", "publish_once", "wait_port"]

# The broker and the subscriber are the runtime's (the demo uses the same ones).
Broker = LocalBroker


def publish_once(port: int, topic: str, payload: str | bytes, qos: int = 1) -> None:
    """Publish one message and wait for its PUBACK."""
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"pub-{time.monotonic_ns()}")
    c.connect("127.0.0.1", port)
    c.loop_start()
    c.publish(topic, payload, qos=qos).wait_for_publish(10)
    c.disconnect()
    c.loop_stop()
