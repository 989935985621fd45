"""The committee's learned members run on a worker thread beside the gate and the gauge
(``Committee.start``, :func:`inspector.inspection.inspect_scan`): the verdict is the one the
plain sequential ``decide`` gives, and numpy's BLAS is held to one thread on the hot path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_info

from inspector.decision.committee import Committee
from inspector.decision.gauge import gauge_weld, vote
from inspector.inspection import OverlappingDecider, inspect_scan
from point_cloud.config import weld_type_profile
from point_cloud.pipeline import scan_to_heightmap
from point_cloud.simulator import simulate_weld
from point_cloud.write import write_scan
from synth_defects.scan_defects import defect_edit

MODELS = Path(__file__).resolve().parents[2] / "models"


def test_a_started_decision_is_the_sequential_one_and_blas_runs_on_one_thread(tmp_path):
    profile = weld_type_profile(3)
    committee = Committee.from_bundle(MODELS / "type3")
    assert isinstance(committee, OverlappingDecider)
    edit = defect_edit(3, 5, "hole", 400_000, profile)[0]
    clouds = {"good": simulate_weld(3, 4).cloud, "hole": simulate_weld(3, 5, edit=edit).cloud}
    decisions = {}
    for name, cloud in clouds.items():
        hm = scan_to_heightmap(cloud, profile)
        report = gauge_weld(hm, profile)
        plain = committee.decide(hm, report)
        started = committee.start(hm)(report)
        assert started.decision == plain.decision, name
        assert started.score == plain.score, name
        assert started.member_scores == plain.member_scores, name
        assert np.array_equal(started.anomaly_map, plain.anomaly_map), name
        # through the pipeline, which starts the members before it gates and gauges
        path = write_scan(cloud, tmp_path / f"scan_{name}.ply", "ply")
        res = inspect_scan(path, {3: committee})
        expected = vote(committee.decide(res.heightmap, report), report)
        assert res.verdict.decision == expected.decision, name
        assert abs(res.verdict.score - expected.score) < 1e-9, name
        decisions[name] = res.verdict.decision
    assert decisions == {"good": "PASS", "hole": "FAIL"}
    blas = [p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"]
    assert blas
    assert max(blas) == 1
