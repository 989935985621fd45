"""The bead is found from the map: centreline, width, top height, ends, square path."""

from __future__ import annotations

import numpy as np
import pytest

from point_cloud.bead_geometry import analyse_bead
from point_cloud.config import weld_type_profile
from point_cloud.errors import NoBeadFoundError


@pytest.mark.parametrize("plate_visible", [True, False], ids=["plate", "isolated"])
@pytest.mark.parametrize("weld_type", [3, 9, 11])
def test_line_bead_found_where_it_is(make_weld, weld_type, plate_visible):
    hm = make_weld(weld_type, noise_mm=0.02, plate_visible=plate_visible, y_offset_mm=0.7)
    prof = weld_type_profile(weld_type)
    g = analyse_bead(hm, prof)
    centre_y = g.centre_xy[g.present, 1]
    assert np.median(centre_y) == pytest.approx(0.7, abs=0.05)
    assert np.nanmax(np.abs(centre_y - 0.7)) < 0.2
    assert g.median_width_mm == pytest.approx(6.0, abs=0.5)
    assert g.median_top_mm == pytest.approx(2.0, abs=0.1)
    x0 = g.path.xy[0, 0]
    half = 0.5 * prof.geometry.bead_length_mm
    assert x0 + g.start_s_mm == pytest.approx(-half, abs=0.6)
    assert x0 + g.end_s_mm == pytest.approx(half, abs=0.6)


def test_square_path_found(make_weld):
    hm = make_weld(7, noise_mm=0.02, y_offset_mm=0.5)
    g = analyse_bead(hm, weld_type_profile(7))
    assert g.path.kind == "square"
    assert g.path.half_side_mm == pytest.approx(10.0, abs=0.15)
    assert g.path.centre[1] == pytest.approx(0.5, abs=0.15)
    assert g.present.all()
    # normals point outward: the centre lies on the inner side of every sample
    to_centre = np.asarray(g.path.centre) - g.path.xy
    assert (np.einsum("ij,ij->i", to_centre, g.path.normal) < 0).all()


def test_flat_plate_has_no_bead(make_weld):
    hm = make_weld(3)
    flat = hm.with_z(np.zeros_like(hm.z), np.ones(hm.shape, bool))
    with pytest.raises(NoBeadFoundError, match="bead"):
        analyse_bead(flat, weld_type_profile(3))
