"""The contract's variation space as named axes, drawn per simulated scan.

Shared SCANS.md ("What varies from line to line") lists what differs between lines inside
the scan contract. Each :class:`Axis` here is one of those differences with a few named
*settings* (``patch=raised``, ``spacing=anisotropic`` ...); :func:`draw_variation` draws a
setting of every axis that applies to a weld type and realises it as simulator parameters
(a :class:`Variation`, passed to ``simulate_weld(..., variation=...)``).

Leave-one-out evaluation is built on the settings: training data is drawn with some
settings excluded (:class:`VariationRule` ``hold_out``), test data with one setting forced
(``only``), and every sample records its settings so results can be split by them.
Adding an axis means adding one :class:`Axis` to :data:`AXES` and its realisation in
:func:`_realise`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from point_cloud.config import ConfigError, WeldTypeProfile
from point_cloud.kinds import kind_of
from point_cloud.layout import Layout


@dataclass(frozen=True)
class Axis:
    """One axis of variation: its settings and the weld types it applies to."""

    name: str
    settings: tuple[str, ...]
    doc: str
    applies: Callable[[WeldTypeProfile], bool] = lambda p: True


def _kind_axis(name: str) -> Callable[[WeldTypeProfile], bool]:
    """The axis ``name`` applies to the kinds that list it (:attr:`GeometryKind.axes`)."""
    return lambda p: name in kind_of(p).axes


AXES: dict[str, Axis] = {a.name: a for a in (
    Axis("plates", ("whole", "part", "none"),
         "plate removal: every plate in the scan, one partly cropped beyond the toe, one "
         "wholly removed (isolated types: the plate left in, or removed)"),
    Axis("step", ("low", "high"), "upper plate 1-2 or 2-3 mm above the lower one",
         _kind_axis("step")),
    Axis("patch", ("level", "raised", "recessed"),
         "type 7's patch level with the outer plate, raised or recessed by 1-3 mm",
         _kind_axis("patch")),
    Axis("tilt", ("flat", "falling", "rising"),
         "type 7's outer plate level, falling or rising away from the bead (up to 15 deg)",
         _kind_axis("tilt")),
    Axis("bead", ("rounded", "flat", "smooth"),
         "cross-section parabolic-rounded or flat-topped, elliptical (both rippled, with end "
         "craters), "
         "or rounded without ripples or craters"),
    Axis("size", ("nominal", "small", "large"),
         "bead width and height: the type's nominal (+-4 %, +-5 %), or anywhere in the "
         "contract's 5-7 mm x 1.5-2.5 mm below or above it"),
    Axis("spacing", ("fine", "coarse", "anisotropic"),
         "point spacing 0.05-0.1 mm, 0.1-0.2 mm, or unequal along and across the weld"),
    Axis("noise", ("low", "high"), "Z noise 0.01-0.025 or 0.025-0.05 mm, outliers 0-3 %"),
    Axis("shadow", ("south", "north"), "shadows on the south or the north side of the bead"),
)}


@dataclass(frozen=True)
class VariationRule:
    """Which settings may be drawn: ``hold_out`` never, ``only`` always (per axis)."""

    hold_out: Mapping[str, frozenset[str]] = field(default_factory=dict)
    only: Mapping[str, str] = field(default_factory=dict)

    @staticmethod
    def parse(hold_out: Iterable[str] = (), only: Iterable[str] = (),
              where: str = "variation") -> VariationRule:
        """From ``axis=setting`` strings; unknown axes or settings are errors."""
        held: dict[str, set[str]] = {}
        for axis, setting in (_pair(t, f"{where}.hold_out") for t in hold_out):
            held.setdefault(axis, set()).add(setting)
        forced = dict(_pair(t, f"{where}.only") for t in only)
        for axis, settings in held.items():
            if set(AXES[axis].settings) <= settings:
                raise ConfigError(f"{where}.hold_out: every setting of {axis!r} is held out; "
                                  "expected at least one left to draw")
        return VariationRule({a: frozenset(s) for a, s in held.items()}, forced)

    def allowed(self, axis: Axis) -> tuple[str, ...]:
        if axis.name in self.only:
            return (self.only[axis.name],)
        return tuple(s for s in axis.settings if s not in self.hold_out.get(axis.name, ()))

    def to_strings(self) -> dict[str, list[str]]:
        return {"hold_out": sorted(f"{a}={s}" for a, ss in self.hold_out.items() for s in ss),
                "only": sorted(f"{a}={s}" for a, s in self.only.items())}


def _pair(text: str, where: str) -> tuple[str, str]:
    axis, sep, setting = text.partition("=")
    axis, setting = axis.strip(), setting.strip()
    if not sep or axis not in AXES or setting not in AXES[axis].settings:
        choices = "; ".join(f"{a.name}={'|'.join(a.settings)}" for a in AXES.values())
        raise ConfigError(f"{where}: expected axis=setting from {choices}, found {text!r}")
    return axis, setting


@dataclass(frozen=True)
class Variation:
    """One scan's setting of every applicable axis and the simulator parameters it gives."""

    settings: dict[str, str]
    layout: Layout
    cap_exponent: float
    top_exponent: float             # 2: rounded; up to 6: flat-topped (simulator.WeldShape)
    ripple_scale: float
    crater_scale: float
    pitch_mm: tuple[float, float]   # along X (the weld), across Y
    bead_mm: tuple[float, float] | None  # (width, height); None: the type's nominal draw
    noise_mm: float
    outlier_fraction: float
    shadow_side: float              # +1 north, -1 south


def draw_variation(profile: WeldTypeProfile, rng: np.random.Generator,
                   rule: VariationRule | None = None) -> Variation:
    """A setting of every axis that applies to ``profile`` (uniform over those ``rule``
    allows), realised as simulator parameters drawn from the setting's range."""
    rule = rule or VariationRule()
    settings = {}
    for axis in AXES.values():
        if axis.applies(profile):
            allowed = rule.allowed(axis)
            settings[axis.name] = allowed[int(rng.integers(len(allowed)))]
    return _realise(profile, settings, rng)


def _realise(profile: WeldTypeProfile, s: dict[str, str], rng: np.random.Generator) -> Variation:
    g = profile.geometry
    kind = kind_of(profile)
    keep = kind.kept_plates(g, s["plates"], rng)
    step, tilt = kind.vary_plates(g, s, rng)
    layout = Layout(step_mm=step, outer_tilt_deg=tilt, keep_mm=keep)

    bead = s["bead"]
    # the cap h * (1 - rho^2) ** e: e = 1 parabolic, 0.5 elliptical (meeting
    # the plate square); lower exponents would stand as walls at the toes, which no wetting
    # bead does
    cap = float(rng.uniform(0.5, 0.65)) if bead == "flat" else float(rng.uniform(0.8, 1.0))
    # flat-topped reaches a super-ellipse's top, h * (1 - |rho| ** n) ** e with n up to 6: a
    # wide flat crest and steep flanks (n = 2 is the ellipse; the nets had never seen more)
    top = float(rng.uniform(2.0, 6.0)) if bead == "flat" else 2.0
    rough = 0.0 if bead == "smooth" else float(rng.uniform(0.5, 1.5))
    # end craters as the simulator draws them (0.25-0.4 mm deep) or none: a deeper dip at
    # the bead's end is a pit, and the norm judges it so
    crater = 0.0 if bead == "smooth" else float(rng.uniform(0.6, 1.0))

    size = s["size"]
    bead_mm: tuple[float, float] | None = None
    if size != "nominal":
        w0, h0 = g.bead_width_mm, g.bead_height_mm
        bead_mm = ((float(rng.uniform(5.0, min(w0, 6.9))), float(rng.uniform(1.5, min(h0, 2.4))))
                   if size == "small" else
                   (float(rng.uniform(max(w0, 5.1), 7.0)), float(rng.uniform(max(h0, 1.6), 2.5))))
    spacing = s["spacing"]
    if spacing == "anisotropic":
        fine, coarse = float(rng.uniform(0.05, 0.1)), float(rng.uniform(0.12, 0.2))
        pitch = (fine, coarse) if rng.uniform() < 0.5 else (coarse, fine)
    else:
        lo, hi = (0.05, 0.1) if spacing == "fine" else (0.1, 0.2)
        p = float(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        pitch = (p, p)
    noise = float(rng.uniform(0.01, 0.025) if s["noise"] == "low" else rng.uniform(0.025, 0.05))
    return Variation(settings=dict(s), layout=layout, cap_exponent=cap, top_exponent=top,
                     ripple_scale=rough,
                     crater_scale=crater, pitch_mm=pitch, bead_mm=bead_mm, noise_mm=noise,
                     outlier_fraction=float(rng.uniform(0.0, 0.03)),
                     shadow_side=1.0 if s["shadow"] == "north" else -1.0)
