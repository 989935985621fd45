"""An MQTT subscriber that collects messages in arrival order (demo live view, tests)."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt


class Subscriber:
    """A persistent-session subscriber collecting (topic, payload, retain) in arrival order."""

    def __init__(self, port: int, topics: list[str], client_id: str = "weld-subscriber",
                 on_message: Callable[[str, bytes], None] | None = None) -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self.lock = threading.Lock()
        self.topics = topics
        self.on_message = on_message
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  clean_session=False)
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(1, 2)
        self.connected = threading.Event()
        self.client.connect_async("127.0.0.1", port, keepalive=10)
        self.client.loop_start()
        if not self.connected.wait(10):
            raise TimeoutError(f"MQTT subscriber could not connect to 127.0.0.1:{port}")

    def _on_connect(self, client: mqtt.Client, *_: Any) -> None:
        for t in self.topics:
            client.subscribe(t, qos=1)
        self.connected.set()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self.lock:
            self.messages.append((msg.topic, bytes(msg.payload), bool(msg.retain)))
        if self.on_message is not None:
            self.on_message(msg.topic, bytes(msg.payload))

    def payloads(self, suffix: str) -> list[bytes]:
        with self.lock:
            return [p for t, p, _ in self.messages if t.endswith(suffix)]

    def results(self) -> list[dict[str, Any]]:
        return [json.loads(p) for p in self.payloads("/result")]

    def wait_for(self, pred: Callable[[Subscriber], bool], timeout: float = 30.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if pred(self):
                return True
            time.sleep(0.05)
        return bool(pred(self))

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.client.disconnect()
        self.client.loop_stop()
