"""An overlay image for a person: the height map in grey, anomalies in colour, the location."""

from __future__ import annotations

import cv2
import numpy as np

from point_cloud.heightmap_io import preview_u8
from point_cloud.types import HeightMap

SCALE = 3        # upsampling for legibility (maps are 80 x 250 px at 0.2 mm/px)


def overlay_bgr(hm: HeightMap, anomaly: np.ndarray | None = None,
                location_mm: tuple[float, float] | None = None) -> np.ndarray:
    """BGR uint8 image: grey heights, JET anomaly blend where it is high, a ring at the defect."""
    grey = cv2.cvtColor(preview_u8(hm), cv2.COLOR_GRAY2BGR)
    img = grey
    if anomaly is not None and anomaly.shape == hm.shape and np.isfinite(anomaly).any():
        a = np.nan_to_num(anomaly.astype(np.float32))
        span = float(a.max() - a.min()) or 1.0
        a8 = ((a - a.min()) / span * 255).astype(np.uint8)
        heat = cv2.applyColorMap(a8, cv2.COLORMAP_JET)
        alpha = (a8.astype(np.float32) / 255.0)[..., None] * 0.6
        img = (grey * (1 - alpha) + heat * alpha).astype(np.uint8)
    img = cv2.resize(img, (hm.shape[1] * SCALE, hm.shape[0] * SCALE),
                     interpolation=cv2.INTER_NEAREST)
    if location_mm is not None:
        r, c = hm.rc_of(*location_mm)
        centre = (round(float(c) * SCALE), round(float(r) * SCALE))
        cv2.circle(img, centre, radius=6 * SCALE, color=(0, 0, 255), thickness=2)
    return img


def write_overlay(path: str, hm: HeightMap, anomaly: np.ndarray | None = None,
                  location_mm: tuple[float, float] | None = None) -> None:
    if not cv2.imwrite(path, overlay_bgr(hm, anomaly, location_mm)):
        raise OSError(f"{path}: could not write the overlay PNG")
