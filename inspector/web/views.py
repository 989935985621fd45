"""Template-ready views of store rows: list rows, the detail page, the trends and SPC pages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from inspector.review.queries import latest_verdict
from inspector.service.messages import ResultMessage, stored_message
from inspector.store.models import Inspection, as_utc
from inspector.web import charts
from inspector.web.images import colour_stops
from inspector.web.params import Params, choice, whole
from inspector.web.spc import (
    MAX_POINTS,
    ControlChart,
    Shift,
    control_chart,
    defect_mix_by_shift,
    shift_labels,
    weld_types_seen,
)
from inspector.web.trends import BIN_SECONDS, defect_mix, reject_series, window
from point_cloud.config import DEFAULT_WELD_TYPES, WELD_TYPE_RANGE
from synth_defects.classes import BAD_CLASSES

DEFAULT_BINS = {"day": 14, "hour": 48}
MAX_BINS = 400
LABEL_FORMAT = {"day": "%m-%d", "hour": "%d %Hh"}


def _artifact_ids(insp: Inspection) -> dict[str, int]:
    return {a.kind: a.id for a in insp.artifacts}


def row(insp: Inspection) -> dict[str, Any]:
    """One line of the list page."""
    return {"id": insp.id, "time": f"{as_utc(insp.created_at):%Y-%m-%d %H:%M:%S}",
            "decision": insp.decision, "weld_type": insp.weld_type,
            "serial": insp.part_serial, "weld_id": insp.weld_id, "defect": insp.defect,
            "score": insp.score, "threshold": insp.threshold, "verdict": latest_verdict(insp),
            "thumb": _artifact_ids(insp).get("heightmap")}


def _size(msg: ResultMessage | None) -> dict[str, Any] | None:
    size = msg.size if msg else None
    if size is None:
        return None
    value, limit = size.value_mm, size.limit_mm
    return {"quantity": size.quantity.replace("_", " "), "value_mm": value,
            "limit_mm": limit, "percent": 100 * value / limit if limit else None,
            "over": value > limit}


def detail(insp: Inspection, scale_mm: tuple[float, float] | None = None) -> dict[str, Any]:
    """Everything the detail page shows, from the row and its stored result message.

    ``scale_mm``: the heights at the ends of the height map's colour scale.
    """
    msg = stored_message(insp.result)
    probs = sorted(msg.defect_probs.items(), key=lambda kv: -kv[1]) if msg else []
    return {**row(insp), "scan": insp.scan_name, "reason": insp.reason,
            "bundle_version": insp.bundle_version, "artifacts": _artifact_ids(insp),
            "location_mm": msg.location_mm if msg else None, "size": _size(msg),
            "members": sorted(msg.member_scores.items()) if msg else [],
            "defect_probs": probs[:5], "timings": msg.timings_ms if msg else {},
            "gauge": charts.score_gauge(insp.score, insp.threshold),
            "colour_bar": charts.colour_bar(colour_stops(), *scale_mm) if scale_mm else None,
            "line": msg.line if msg else None, "station": msg.station if msg else None,
            "reviews": [{"time": f"{as_utc(r.created_at):%Y-%m-%d %H:%M}",
                         "verdict": r.verdict, "note": r.note, "reviewer": r.reviewer}
                        for r in reversed(insp.reviews)]}


def class_order(mixes: Iterable[Mapping[str, int]]) -> list[str]:
    """The defect classes present in ``mixes``: the known ones in their order, then others."""
    seen = {c for m in mixes for c, n in m.items() if n}
    return [c for c in BAD_CLASSES if c in seen] + sorted(seen - set(BAD_CLASSES))


def trends(factory: sessionmaker[Session], params: Params,
           now: datetime | None = None) -> dict[str, Any]:
    """Reject rate per weld type per bin and the FAIL defect-class mix over the same window."""
    bin_name = choice(params, "bin", tuple(BIN_SECONDS)) or "day"
    bins = whole(params, "bins", 1, MAX_BINS) or DEFAULT_BINS[bin_name]
    since, until = window(now or datetime.now(UTC), bins, bin_name)
    series = reject_series(factory, since, until, bin_name)
    labels = [f"{t:{LABEL_FORMAT[bin_name]}}" for t in series.starts]
    rates = {f"type {wt}": series.rates(wt) for wt in series.totals}
    notes = {f"type {wt}": [f"{f} of {n}" for f, n in zip(series.fails[wt], series.totals[wt],
                                                         strict=True)]
             for wt in series.totals}
    mix = defect_mix(factory, since, until)
    classes = class_order(mix.values())
    table = [{"weld_type": wt, "scans": int(series.totals[wt].sum()),
              "fails": int(series.fails[wt].sum()), "errors": int(series.errors[wt].sum())}
             for wt in series.totals]
    return {"bin": bin_name, "bins": bins, "since": since, "until": until,
            "table": table, "mix": mix, "classes": classes,
            "rate_chart": charts.line_chart(labels, rates, notes=notes,
                                            title="reject rate per weld type"),
            "mix_chart": charts.stacked_bars({f"type {k}": v for k, v in mix.items()}, classes,
                                             title="defect-class mix of FAILs")}


SPC_DAYS, MAX_SPC_DAYS = 7, 90
SPC_QUANTITIES = {"bead_width_mm": "Bead width", "bead_height_mm": "Bead height"}


def _control(chart: ControlChart, name: str) -> dict[str, Any]:
    """One control chart's SVG and its numbers for the table."""
    lim, out = chart.limits, chart.out
    return {"name": name, "quantity": chart.quantity, "n": len(chart.points),
            "limits": lim, "out": sum(out), "svg": charts.control_chart(
                [f"{p.at:%m-%d %H:%M}" for p in chart.points], [p.value for p in chart.points],
                limits=(lim.lcl, lim.centre, lim.ucl) if lim else None, out=out,
                links=[f"/inspections/{p.inspection_id}" for p in chart.points],
                title=f"{name} control chart")}


def spc(factory: sessionmaker[Session], params: Params, shifts: Sequence[Shift],
        now: datetime | None = None,
        weld_types: Sequence[int] = DEFAULT_WELD_TYPES) -> dict[str, Any]:
    """Bead width and height control charts and the FAIL defect share per shift of one weld
    type (default: the lowest with scans) over the last ``days`` days. ``weld_types``: the
    configured ones, offered beside those seen; any type 1-9999 may be asked for."""
    chosen = whole(params, "weld_type", WELD_TYPE_RANGE.start, WELD_TYPE_RANGE.stop - 1)
    days = whole(params, "days", 1, MAX_SPC_DAYS) or SPC_DAYS
    until = now or datetime.now(UTC)
    since = until - timedelta(days=days)
    seen = weld_types_seen(factory, since, until)
    weld_type = chosen if chosen is not None else next(iter(seen), None)
    offered = sorted({*weld_types, *seen, *([] if weld_type is None else [weld_type])})
    out: dict[str, Any] = {"weld_type": weld_type, "days": days, "since": since,
                           "until": until, "weld_types": offered, "seen": seen,
                           "max_days": MAX_SPC_DAYS, "max_points": MAX_POINTS}
    if weld_type is None:
        return out
    mix = defect_mix_by_shift(factory, weld_type, since, until, shifts)
    classes = class_order(mix.fails.values())
    rows = [{"name": sh.name, "label": label, "scans": mix.scans[label],
             "fails": sum(mix.fails[label].values()),
             "shares": [mix.share(label, c) for c in classes]}
            for sh, label in shift_labels(shifts).items()]
    out.update(
        charts=[_control(control_chart(factory, weld_type, q, since, until), name)
                for q, name in SPC_QUANTITIES.items()],
        shift_rows=rows, classes=classes, any_fail=any(r["fails"] for r in rows),
        mix_chart=charts.stacked_bars(mix.fails, classes, label_width=130,
                                      title="defect-class share of FAILs per shift"))
    return out
