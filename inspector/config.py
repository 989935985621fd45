"""The line/daemon settings (``config/line.yaml``): strict, with file:line:key errors.

Secrets (MQTT username/password) are never read from this file: they come from the
environment (``WELD_MQTT_USERNAME`` / ``WELD_MQTT_PASSWORD``) or from ``credentials_file``.
Relative paths are resolved against the YAML file's folder.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator, model_validator

from point_cloud.config import (
    WELD_TYPE_EXPECTED,
    ConfigError,
    Strict,
    is_weld_type,
    load_yaml_model,
)

USERNAME_ENV = "WELD_MQTT_USERNAME"
PASSWORD_ENV = "WELD_MQTT_PASSWORD"


class TlsSettings(Strict):
    """TLS towards the broker; files are PEM paths, never the PEM text itself.

    ``ca_file`` verifies the broker. For mutual TLS (a broker with ``require_certificate``)
    ``cert_file`` is this station's client certificate and ``key_file`` its unencrypted
    private key: a file readable by the service user only (mode 0600), outside this YAML.
    """

    enabled: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None     # client certificate (mutual TLS)
    key_file: Path | None = None      # its private key; default: inside cert_file
    insecure: bool = False            # skip host-name checks (commissioning only)

    @field_validator("ca_file", "cert_file", "key_file", mode="before")
    @classmethod
    def _a_path_not_pem(cls, v: object) -> object:
        if isinstance(v, str) and "-----BEGIN" in v:
            raise ValueError("expected the path of a PEM file, found PEM text: keep keys "
                             "and certificates in files, out of this YAML")
        return v

    @model_validator(mode="after")
    def _key_needs_cert(self) -> TlsSettings:
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file is set without cert_file (the client certificate)")
        return self


class MqttSettings(Strict):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    prefix: str = "welds"
    client_id: str | None = None      # default: "inspector-<line>-<station>"
    keepalive_s: int = Field(default=30, ge=5)
    reconnect_min_s: float = Field(default=0.5, gt=0)
    reconnect_max_s: float = Field(default=30.0, gt=0)
    ack_timeout_s: float = Field(default=10.0, gt=0)
    # an outbox message that failed this many attempts in a row, each on a new connection,
    # is set aside as dead (see inspector/service/publisher.py)
    dead_after_attempts: int = Field(default=5, ge=1)
    # at start, READY=1 waits this long for the broker (then results queue in the outbox)
    ready_timeout_s: float = Field(default=30.0, ge=0)
    tls: TlsSettings = TlsSettings()
    credentials_file: Path | None = None   # "username=..." / "password=..." lines
    trigger: bool = True                   # subscribe to <prefix>/<line>/<station>/trigger

    @field_validator("prefix")
    @classmethod
    def _no_wildcards(cls, v: str) -> str:
        if not v or any(c in v for c in "#+") or v.startswith("/") or v.endswith("/"):
            raise ValueError("expected a topic prefix without wildcards or outer slashes")
        return v


class SpoolSettings(Strict):
    dir: Path = Path("spool")
    watch: bool = True                # poll the top level of the spool for new scans
    poll_s: float = Field(default=0.2, gt=0)
    # partial (.tmp/.part), hidden and orphan-sidecar entries untouched this long are refused
    abandon_after_s: float = Field(default=900.0, gt=0)


class ArtifactSettings(Strict):
    """Height-map PNGs and anomaly overlays kept for FAIL and ERROR inspections."""

    dir: Path = Path("artifacts")
    keep_for: list[str] = Field(default_factory=lambda: ["FAIL", "ERROR"])
    retention_days: float = Field(default=90.0, gt=0)


class StoreSettings(Strict):
    """Retention of the inspection log itself (artifacts have their own)."""

    # delete inspections older than this, with their reviews, artifacts and delivered
    # outbox rows (never one whose result is not delivered yet); None: keep forever
    inspection_retention_days: float | None = Field(default=None, gt=0)


class QueueSettings(Strict):
    """Bounded queues between the threads (intake -> inference -> store)."""

    inference: int = Field(default=4, ge=1)
    store: int = Field(default=16, ge=1)


def bundled_types(models: Path) -> list[int]:
    """Weld types with a bundle folder ``type<T>/model.json`` in ``models`` (listed, not loaded)."""
    found = (p.parent.name[len("type"):] for p in models.glob("type*/model.json"))
    types = (int(t) for t in found if t.isdigit() and str(int(t)) == t)
    return sorted(t for t in types if is_weld_type(t))


class ModelSettings(Strict):
    dir: Path = Path("models")
    # "module:function" taking (LineConfig) and returning {weld_type: Decider}.
    loader: str = "inspector.service.deciders:load_bundle_deciders"
    # None: every weld type with a bundle folder type<T>/model.json in dir (served_types)
    types: list[int] | None = None

    @field_validator("types")
    @classmethod
    def _in_range(cls, v: list[int] | None) -> list[int] | None:
        bad = [t for t in v or [] if not is_weld_type(t)]
        if bad:
            raise ValueError(f"expected weld types, each {WELD_TYPE_EXPECTED}, found {bad}")
        return v

    def served_types(self) -> list[int]:
        """``types`` when listed, else the types with a bundle in ``dir`` (see bundled_types)."""
        return list(self.types) if self.types is not None else bundled_types(self.dir)


class LineConfig(Strict):
    """Everything one inspector daemon needs."""

    line: str = "line1"
    station: str = "station1"
    db_url: str = "sqlite:///inspections.db"
    store: StoreSettings = StoreSettings()
    spool: SpoolSettings = SpoolSettings()
    mqtt: MqttSettings = MqttSettings()
    models: ModelSettings = ModelSettings()
    artifacts: ArtifactSettings = ArtifactSettings()
    queues: QueueSettings = QueueSettings()
    metrics_port: int | None = Field(default=None, ge=1, le=65535)   # off when null
    watchdog: bool = True            # send WATCHDOG=1 when systemd asks for it
    stall_s: float = Field(default=120.0, gt=0)   # a thread silent this long stops the pings
    stop_flush_s: float = Field(default=10.0, ge=0)   # on stop: wait for the outbox to drain
    # the weld-types file (key ``weld_types:`` or ``weld_types_file:``); default: the
    # WELD_TYPES_FILE environment variable, else config/weld_types.yaml
    weld_types_file: Path | None = Field(
        default=None, validation_alias=AliasChoices("weld_types", "weld_types_file"))

    @model_validator(mode="before")
    @classmethod
    def _one_types_key(cls, data: object) -> object:
        if isinstance(data, dict) and "weld_types" in data and "weld_types_file" in data:
            raise ValueError("weld_types: expected one of weld_types or weld_types_file "
                             "(the same setting), found both")
        return data

    @field_validator("line", "station")
    @classmethod
    def _topic_level(cls, v: str) -> str:
        if not v or any(c in v for c in "#+/"):
            raise ValueError("expected one MQTT topic level (no '/', '#', '+')")
        return v

    def topic(self, leaf: str) -> str:
        """``<prefix>/<line>/<station>/<leaf>``."""
        return f"{self.mqtt.prefix}/{self.line}/{self.station}/{leaf}"

    def resolved(self, base: Path) -> LineConfig:
        """A copy whose relative paths (and SQLite file) are anchored at ``base``."""
        def fix(p: Path | None) -> Path | None:
            return None if p is None or p.is_absolute() else (base / p)

        def keep(p: Path | None, q: Path | None) -> Path | None:
            return q if q is not None else p

        def anchored(p: Path | None) -> Path | None:
            return keep(p, fix(p))

        url = self.db_url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            url = prefix + str(base / url[len(prefix):])
        tls = self.mqtt.tls.model_copy(update={
            k: anchored(getattr(self.mqtt.tls, k)) for k in ("ca_file", "cert_file", "key_file")})
        return self.model_copy(update={
            "db_url": url,
            "spool": self.spool.model_copy(update={"dir": anchored(self.spool.dir)}),
            "models": self.models.model_copy(update={"dir": anchored(self.models.dir)}),
            "artifacts": self.artifacts.model_copy(update={"dir": anchored(self.artifacts.dir)}),
            "mqtt": self.mqtt.model_copy(update={
                "tls": tls, "credentials_file": anchored(self.mqtt.credentials_file)}),
            "weld_types_file": anchored(self.weld_types_file),
        })


def load_line_config(path: str | Path) -> LineConfig:
    """Load ``line.yaml``; relative paths are taken relative to the file's folder."""
    path = Path(path)
    return load_yaml_model(path, LineConfig).resolved(path.resolve().parent)


def mqtt_credentials(cfg: MqttSettings) -> tuple[str, str | None] | None:
    """(username, password) from the environment first, else from ``credentials_file``."""
    user = os.environ.get(USERNAME_ENV)
    if user:
        return user, os.environ.get(PASSWORD_ENV)
    if cfg.credentials_file is None:
        return None
    try:
        text = cfg.credentials_file.read_text()
    except OSError as exc:
        raise ConfigError(f"{cfg.credentials_file}: cannot read the MQTT credentials file "
                          f"({exc.strerror})") from exc
    values: dict[str, str] = {}
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep or key.strip() not in ("username", "password"):
            raise ConfigError(f"{cfg.credentials_file}:{n}: expected 'username=...' or "
                              f"'password=...', found {key.strip()!r}")
        values[key.strip()] = value.strip()
    if "username" not in values:
        raise ConfigError(f"{cfg.credentials_file}: username: expected a 'username=' line")
    return values["username"], values.get("password")
