"""The sample classes are defined once (synth_defects.classes.DEFECTS) and everything loops
over that registry: the generator's makers, the norm gauge, the classifier's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from inspector.decision.gauge import GAUGES, MEASURES
from point_cloud.config import Limits, weld_type_profile
from point_cloud.simulator import simulate_weld
from synth_defects.classes import ALL_CLASSES, BAD_CLASSES, DEFECTS, GAUGED, GOOD_CLASSES
from synth_defects.defects import MAKERS
from synth_defects.frame import bead_frame
from synth_defects.params import ranges_for

ROOT = Path(__file__).resolve().parents[2]


def test_every_class_has_a_maker_that_draws_it() -> None:
    assert tuple(MAKERS) == ALL_CLASSES
    profile = weld_type_profile(3)
    from point_cloud.pipeline import scan_to_heightmap

    hm = scan_to_heightmap(simulate_weld(3, 1, points=150_000).cloud, profile)
    frame = bead_frame(hm, profile)
    for name, make in MAKERS.items():
        edited = make(frame, np.random.default_rng(0), ranges_for(profile))
        assert edited.hm.shape == hm.shape, name
        changed = int(edited.mask.sum())
        assert (changed == 0) == (name == "none"), f"{name}: {changed} cells changed"


def test_every_limited_defect_is_gauged_against_its_limit() -> None:
    fields = set(Limits.model_fields)
    assert {s.limit for s in DEFECTS if s.limit} <= fields
    assert set(MEASURES) == {s.name for s in GAUGED}
    assert [g.defect for g in GAUGES] == [s.name for s in GAUGED]
    assert len({s.quantity for s in GAUGED}) == len(GAUGED)


def test_the_classifier_output_order_is_the_starter_bundles() -> None:
    """Goods first, then the defects, in registry order. A starter bundle may predate a
    good class added since (its card lists the classes its classifier outputs: the
    inspector and evaluation read them from there), but never a defect."""
    assert ALL_CLASSES == GOOD_CLASSES + BAD_CLASSES
    assert GOOD_CLASSES[:2] == ("none", "cut_ok")
    assert {"hole_ok", "ball_ok", "deviation_ok", "excess_ok", "lack_ok"} <= set(GOOD_CLASSES)
    for card in sorted((ROOT / "models").glob("type*/model.json")):
        meta = json.loads(card.read_text())
        goods = tuple(c for c in meta["classes"] if c not in BAD_CLASSES)
        assert tuple(meta["classes"]) == goods + BAD_CLASSES, card
        assert goods == tuple(c for c in GOOD_CLASSES if c in goods), card
        assert tuple(meta["bad_classes"]) == BAD_CLASSES, card
