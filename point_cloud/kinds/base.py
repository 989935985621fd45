"""The interface every geometry kind implements, and the registry of kinds.

A *geometry kind* is how a weld type's bead runs and which plates lie around it (the
config's ``geometry.plate``): a straight bead with its plate removed (``isolated``), on one
plate (``lower``) or on a lap joint (``upper``), or a square ring around a patch
(``square``). Each kind is one module of this package holding one :class:`GeometryKind`
(its plates) whose :attr:`GeometryKind.path` is a :class:`PathShape` (its centreline).
The simulator, the variation axes, prepare, the bead analysis, the quality gate, the gauge
and commissioning ask the kind instead of testing names. Adding a kind means adding one
module that registers itself (:func:`register`) and a test.

The kinds sit below the pipeline: they import config, layout and numpy only, and a kind
that needs a pipeline routine (the plane fit of :meth:`GeometryKind.reference_plane`)
imports it when called.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt

from point_cloud.layout import ALL, Layout

if TYPE_CHECKING:
    from point_cloud.config import Geometry, WeldTypeProfile
    from point_cloud.level import Plane
    from point_cloud.simulator import WeldShape

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
Mask = npt.NDArray[np.bool_]


class PathShape(ABC):
    """A bead centreline's shape: where the bead runs in the nominal frame (origin at the
    weld centre, X along the weld)."""

    name: ClassVar[str]
    """The config's ``geometry.path``."""
    closed: ClassVar[bool]
    """The path closes on itself (a ring: no start and end, its arc position wraps)."""

    @abstractmethod
    def length_mm(self, g: Geometry) -> float:
        """Nominal length of the bead along its path."""

    @abstractmethod
    def crest_length_mm(self, g: Geometry) -> float:
        """Length of the straight crest run the bead finder fits (a line's, a side's)."""

    @abstractmethod
    def expected_region(self, x: F64, y: F64, g: Geometry) -> Mask:
        """Cells (nominal-frame ``x``, ``y``) of the nominal bead band, which should hold data."""

    @abstractmethod
    def map_sections(self, z: F32, x: F64, y: F64, g: Geometry) -> list[tuple[F32, F64]]:
        """Stacks of the bead's straight cross-sections in a map ``z`` (rows ``y``, columns
        ``x``, nominal frame; sections x samples) with each sample's offset (mm) from the
        nominal centreline (:func:`point_cloud.pipeline.bead_section`)."""

    @abstractmethod
    def offset(self, shape: WeldShape, x: F64, y: F64) -> F64:
        """Signed offset (mm) of points from the drawn centreline (north of a line,
        outside a ring): the simulator's plate side."""

    @abstractmethod
    def plates(self, shape: WeldShape, d: F64) -> F64:
        """Height of the simulated plates alone at offset ``d`` (:meth:`offset`)."""

    @abstractmethod
    def cap(self, shape: WeldShape, x: F64, y: F64, d: F64) -> tuple[F64, F64, F64, float]:
        """The simulated bead's cap: (cap height, rho^2 (1 at the toes), signed distance
        across the drawn centreline, +1 or -1: the side of the path the stepped plate
        rises to)."""

    @abstractmethod
    def cross_section_points(self, shape: WeldShape, t: F64) -> tuple[F64, F64]:
        """(x, y) of the drawn bead's straight cross-sections at offsets ``t`` (rows:
        sections), clear of ends, corners and craters (:meth:`WeldShape.drawn_bead`)."""


class GeometryKind(ABC):
    """One geometry kind: its path and its plates (module doc)."""

    name: ClassVar[str]
    """The config's ``geometry.plate``."""
    path: ClassVar[PathShape]
    nominal_step_mm: ClassVar[float] = 0.0
    """Default plate step across a straight bead (north minus south plate level)."""
    plate_scanned: ClassVar[bool] = True
    """The default scan holds a plate plane (an isolated bead's was removed)."""
    ends_by_toe: ClassVar[bool] = False
    """A shadowed bead end is found by its toe on the plate around it (a plate seen all
    round the bead), else half a bead length from the other end's crest."""
    default_keep_mm: ClassVar[tuple[float, float]] = (ALL, ALL)
    """The simulator's default ``Layout.keep_mm``: what this project's line delivers."""
    outer_tilt: ClassVar[bool] = False
    """The plate beyond the bead may be oblique (``geometry.outer_plate_tilt_deg``)."""
    axes: ClassVar[tuple[str, ...]] = ()
    """Variation axes (:mod:`point_cloud.variation`) that apply to this kind alone."""

    @abstractmethod
    def random_layout(self, g: Geometry, rng: np.random.Generator, step_mm: float) -> Layout:
        """A plate layout drawn from the contract's variations for this kind; ``step_mm``:
        a plate step drawn from ``geometry.plate_step_mm`` for kinds that have one."""

    def kept_plates(self, g: Geometry, plates: str,
                    rng: np.random.Generator) -> tuple[float, float]:
        """``Layout.keep_mm`` for the variation axis ``plates``: ``whole``, ``part`` (one
        plate cropped ``geometry.crop_beyond_toe_mm`` beyond the toe) or ``none`` (one
        removed); which plate is drawn from ``rng`` (:meth:`cropped_side`)."""
        keep = [ALL, ALL]
        side = self.cropped_side(rng)
        if plates != "whole":
            keep[side] = self.cropped_mm(g, rng) if plates == "part" else 0.0
        return keep[0], keep[1]

    def cropped_side(self, rng: np.random.Generator) -> int:
        """Which plate a variation crops or removes: 0 south (inside), 1 north (outside)."""
        return int(rng.integers(2))

    def vary_plates(self, g: Geometry, settings: dict[str, str],
                    rng: np.random.Generator) -> tuple[float | None, float | None]:
        """(``Layout.step_mm``, ``Layout.outer_tilt_deg``) for this kind's own variation
        axes' ``settings`` (:attr:`axes`); None: as the default draw gives."""
        return None, None

    @abstractmethod
    def reference_plane(self, pts: F32, profile: WeldTypeProfile, max_tilt_deg: float,
                        where: str, rng: np.random.Generator) -> tuple[Plane, float]:
        """(plane, height that plane gets in the levelled frame): ``z = 0`` is this kind's
        reference plate (:mod:`point_cloud.prepare`)."""

    @staticmethod
    def cropped_mm(g: Geometry, rng: np.random.Generator) -> float:
        """How far from the centreline a partly cropped plate ends: the toe plus
        ``geometry.crop_beyond_toe_mm``."""
        return g.bead_width_mm / 2 + float(rng.uniform(*g.crop_beyond_toe_mm))

    @classmethod
    def kept(cls, g: Geometry, rng: np.random.Generator, *options: str) -> float:
        """A plate's ``keep_mm`` drawn among ``options``: ``all``, ``none`` or ``part``
        (:meth:`cropped_mm`, drawn in every case to keep the random stream)."""
        way = options[int(rng.integers(len(options)))]
        part = cls.cropped_mm(g, rng)
        return {"all": ALL, "none": 0.0}.get(way, part)


_KINDS: dict[str, GeometryKind] = {}


def register(kind: GeometryKind) -> GeometryKind:
    """Add ``kind`` to the registry (each kind module calls this once)."""
    if kind.name in _KINDS:
        raise ValueError(f"geometry kind {kind.name!r} registered twice")
    _KINDS[kind.name] = kind
    return kind


def kind_names() -> tuple[str, ...]:
    """Names of the registered kinds, in registration order."""
    return tuple(_KINDS)


def kind_named(name: str) -> GeometryKind:
    """The registered kind ``name``; a ValueError naming the known ones otherwise."""
    try:
        return _KINDS[name]
    except KeyError:
        raise ValueError(f"expected a geometry kind, one of {', '.join(_KINDS)}; "
                         f"found {name!r}") from None


def kind_of(geometry: Geometry | WeldTypeProfile) -> GeometryKind:
    """The kind of a type's geometry (or of its profile's)."""
    from point_cloud.config import WeldTypeProfile  # config validates kinds by name

    g = geometry.geometry if isinstance(geometry, WeldTypeProfile) else geometry
    return kind_named(g.plate)
