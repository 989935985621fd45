"""Loading the per-type Deciders named by ``models.loader`` (``module:function``).

The default, :func:`load_bundle_deciders`, loads the committee bundles of the decision
core and refuses to start when a bundle is missing or does not match the config.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inspector.config import LineConfig
from inspector.decision.bundle import BundleError
from inspector.inspection import Decider, Deciders
from point_cloud.config import ConfigError, weld_type_profile


def resolve_loader(spec: str) -> Callable[[LineConfig], Deciders]:
    """Import ``module:function``."""
    mod_name, sep, fn_name = spec.partition(":")
    if not sep:
        raise ConfigError(f"models.loader: expected 'module:function', found {spec!r}")
    try:
        fn: Any = getattr(importlib.import_module(mod_name), fn_name)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"models.loader: cannot import {spec!r} ({exc})") from exc
    return fn


def served_types(cfg: LineConfig) -> list[int]:
    """The weld types the line serves: ``models.types``, or (null) every bundle in the dir.

    A null list that finds no ``type<T>/model.json`` is a :class:`BundleError`.
    """
    types = cfg.models.served_types()
    if cfg.models.types is None and not types:
        raise BundleError(f"{cfg.models.dir}: no model bundle (type<T>/model.json) to serve; "
                          "models.types is null, which serves every bundle in models.dir")
    return types


def load_deciders(cfg: LineConfig) -> Deciders:
    """Every served type must get a Decider; a bundle mismatch stops start-up."""
    deciders = resolve_loader(cfg.models.loader)(cfg)
    missing = [t for t in served_types(cfg) if t not in deciders]
    if missing:
        raise BundleError(f"{cfg.models.dir}: no model bundle for weld types {missing}")
    bad = [t for t, d in deciders.items() if not isinstance(d, Decider)]
    if bad:
        raise BundleError(f"models.loader returned objects without decide() for types {bad}")
    return deciders


def bundle_dir(cfg: LineConfig, weld_type: int) -> Path:
    """Where the bundle of one type lives: ``<models.dir>/type<T>``."""
    return cfg.models.dir / f"type{weld_type}"


def load_bundle_deciders(cfg: LineConfig) -> Deciders:
    """The committee bundles from ``models.dir`` (see inspector.decision); checked vs config."""
    try:
        from inspector.decision.committee import Committee
    except ImportError as exc:
        raise BundleError(f"the decision core (inspector.decision) is not available: {exc}") \
            from exc
    deciders: dict[int, Decider] = {}
    for t in served_types(cfg):
        folder = bundle_dir(cfg, t)
        if not (folder / "model.json").is_file():
            raise BundleError(f"{folder}: no model bundle for weld type {t} "
                              "(expected model.json and the .onnx members)")
        try:
            deciders[t] = Committee.from_bundle(
                folder, profile=weld_type_profile(t, cfg.weld_types_file))
        except (OSError, ValueError) as exc:
            raise BundleError(f"{folder}: bundle refused for weld type {t}: {exc}") from exc
    return deciders
