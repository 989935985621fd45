"""The daemon's MQTT connection (paho-mqtt 2.x): status with last will, reconnect, triggers.

``<prefix>/<line>/<station>/status`` is retained: ``online`` on every connect, ``offline``
as the last will and on a clean stop. TLS and credentials come from the config's TLS block
and the environment / credentials file (never the YAML). paho's network thread reconnects
with exponential backoff between ``reconnect_min_s`` and ``reconnect_max_s``.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt

from inspector.config import LineConfig, mqtt_credentials

log = logging.getLogger(__name__)

ONLINE, OFFLINE = b"online", b"offline"
TriggerHandler = Callable[[bytes], None]
# paho's local refusals that no retry can change (a malformed or oversized publish)
PERMANENT_RC = frozenset({mqtt.MQTT_ERR_PAYLOAD_SIZE, mqtt.MQTT_ERR_INVAL,
                          mqtt.MQTT_ERR_NOT_SUPPORTED})


@dataclass(frozen=True)
class Delivery:
    """A QoS-1 publish's outcome; truthy once the PUBACK arrived.

    ``permanent``: refused in a way no retry can change. ``connection``: the number of the
    connection the message went out on, or None when it never left (not connected).
    """

    acked: bool
    reason: str = ""
    permanent: bool = False
    connection: int | None = None

    def __bool__(self) -> bool:
        return self.acked


class MqttLink:
    """One paho client: connected flag, QoS-1 publish with PUBACK wait, trigger callback."""

    def __init__(self, cfg: LineConfig, on_trigger: TriggerHandler | None = None) -> None:
        self.cfg = cfg
        m = cfg.mqtt
        self.status_topic = cfg.topic("status")
        self.trigger_topic = cfg.topic("trigger")
        self._on_trigger = on_trigger
        self._connected = threading.Event()
        self._stopping = False
        self.connections = 0             # successful connects so far
        client_id = m.client_id or f"inspector-{cfg.line}-{cfg.station}"
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id,
                                  protocol=mqtt.MQTTv311, clean_session=True)
        self.client.will_set(self.status_topic, OFFLINE, qos=1, retain=True)
        self.client.reconnect_delay_set(min_delay=max(1, round(m.reconnect_min_s)),
                                        max_delay=max(1, round(m.reconnect_max_s)))
        creds = mqtt_credentials(m)
        if creds is not None:
            self.client.username_pw_set(*creds)
        if m.tls.enabled:
            self.client.tls_set(
                ca_certs=str(m.tls.ca_file) if m.tls.ca_file else None,
                certfile=str(m.tls.cert_file) if m.tls.cert_file else None,
                keyfile=str(m.tls.key_file) if m.tls.key_file else None,
                cert_reqs=ssl.CERT_REQUIRED)
            self.client.tls_insecure_set(m.tls.insecure)
        self.client.on_connect = self._handle_connect
        self.client.on_disconnect = self._handle_disconnect
        self.client.on_message = self._handle_message

    # ------------------------------------------------------------------ callbacks
    def _handle_connect(self, client: mqtt.Client, _ud: object, _flags: object,
                        reason: mqtt.ReasonCode, _props: object) -> None:
        if reason.is_failure:
            log.warning("MQTT connect refused: %s", reason)
            return
        client.publish(self.status_topic, ONLINE, qos=1, retain=True)
        if self.cfg.mqtt.trigger and self._on_trigger is not None:
            client.subscribe(self.trigger_topic, qos=1)
        log.info("MQTT connected to %s:%d", self.cfg.mqtt.host, self.cfg.mqtt.port)
        self.connections += 1
        self._connected.set()

    def _handle_disconnect(self, _c: mqtt.Client, _ud: object, _flags: object,
                           reason: mqtt.ReasonCode, _props: object) -> None:
        self._connected.clear()
        if self._stopping:
            log.info("MQTT disconnected (clean stop)")
        else:
            log.warning("MQTT disconnected (%s); reconnecting with backoff", reason)

    def _handle_message(self, _c: mqtt.Client, _ud: object, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.trigger_topic and self._on_trigger is not None:
            self._on_trigger(bytes(msg.payload))

    # ------------------------------------------------------------------ API
    def start(self) -> None:
        """Connect in the background (the broker may be down: paho keeps retrying)."""
        self.client.connect_async(self.cfg.mqtt.host, self.cfg.mqtt.port,
                                  keepalive=self.cfg.mqtt.keepalive_s)
        self.client.loop_start()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish_acked(self, topic: str, payload: str | bytes, timeout: float,
                      retain: bool = False) -> Delivery:
        """QoS-1 publish and wait for the broker's PUBACK (see :class:`Delivery`).

        A message that gets no PUBACK is withdrawn from paho's resend queue: the caller
        decides whether to send it again (the outbox does), and a message the broker
        refuses (e.g. over its ``max_packet_size``, which drops the connection) must not
        be replayed on every reconnect.
        """
        if not self.connected:
            return Delivery(False, "not connected")
        connection = self.connections
        try:
            info = self.client.publish(topic, payload, qos=1, retain=retain)
        except ValueError as exc:          # over MQTT's 256 MB, or an invalid topic
            return Delivery(False, f"refused by the MQTT client: {exc}", permanent=True)
        if info.rc in PERMANENT_RC:
            self._withdraw(info.mid)
            return Delivery(False, f"refused by the MQTT client: {mqtt.error_string(info.rc)}",
                            permanent=True)
        if info.rc == mqtt.MQTT_ERR_NO_CONN:           # dropped just now: it never left
            self._withdraw(info.mid)
            return Delivery(False, "not connected")
        failure = self._await_puback(info, timeout)
        if failure is None:
            return Delivery(True, connection=connection)
        self._withdraw(info.mid)
        return Delivery(False, failure, connection=connection)

    def _await_puback(self, info: mqtt.MQTTMessageInfo, timeout: float) -> str | None:
        """None once PUBACKed, else why not (connection lost, timeout, client error)."""
        deadline = time.monotonic() + timeout
        try:
            while not info.is_published():
                if not self.connected:
                    return "connection lost before the PUBACK"
                if time.monotonic() > deadline:
                    return f"no PUBACK within {timeout:g} s"
                info.wait_for_publish(0.2)       # wakes on the PUBACK
        except (RuntimeError, ValueError) as exc:
            return str(exc)
        return None

    def _withdraw(self, mid: int) -> None:
        """Drop an unacknowledged message from paho's outgoing queue.

        paho 2.x has no public call for this; its private queue is used when present (a
        later paho without it only loses the withdrawal: paho then replays the message on
        reconnect, as it always did, and the outbox still marks it dead)."""
        c = self.client
        lock, queued = getattr(c, "_out_message_mutex", None), getattr(c, "_out_messages", None)
        if lock is None or queued is None or not hasattr(c, "_inflight_messages"):
            log.warning("paho %s: cannot withdraw message %d from its resend queue",
                        getattr(mqtt, "__version__", "?"), mid)
            return
        with lock:
            msg = queued.pop(mid, None)
            if msg is not None and msg.state == mqtt.mqtt_ms_wait_for_puback:
                c._inflight_messages = max(0, c._inflight_messages - 1)

    def stop(self, timeout: float = 3.0) -> None:
        """Publish the retained ``offline`` status (when connected) and disconnect."""
        self._stopping = True
        if self.connected:
            self.publish_acked(self.status_topic, OFFLINE, timeout, retain=True)
        self.client.disconnect()
        self.client.loop_stop()
