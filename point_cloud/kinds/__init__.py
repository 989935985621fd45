"""Geometry kinds: one module per kind, behind one interface (:mod:`.base`).

Importing this package registers every kind; :func:`kind_of` gives a type's."""

from point_cloud.kinds import isolated, lower, square, upper  # noqa: F401  (registration)
from point_cloud.kinds.base import (
    GeometryKind,
    PathShape,
    kind_named,
    kind_names,
    kind_of,
    register,
)
from point_cloud.kinds.line import LINE
from point_cloud.kinds.square import SQUARE_PATH

PATHS: dict[str, PathShape] = {p.name: p for p in (LINE, SQUARE_PATH)}
"""Every path shape, by the config's ``geometry.path`` name."""

__all__ = ["PATHS", "GeometryKind", "PathShape", "kind_named", "kind_names", "kind_of",
           "register"]
