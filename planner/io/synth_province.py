"""A synthetic province: K county folders of realistic, varied sizes (tests, benchmarks).

``synth_province(k, out, params)`` writes ``out/<code>/`` for K counties, each a district
folder made by :func:`planner.io.synth.synth_district`, then adjusted so that the
counties form one province:

- **sizes**: the number of schools (teaching points included) of each county is drawn
  from a log-normal distribution with median ``median_schools`` and spread 0.5,
  clipped to ``[min_schools, max_schools]`` (defaults in
  :class:`~planner.core.params.SynthProvinceParams`: 150, about a Hunan county with its
  teaching points, and 40 to 600), so a province mixes small districts and large
  rural counties;
- **codes and names**: folders are six-digit codes ``4399NN`` (the unused prefecture
  code 99 of Hunan's 43, so no real county is meant) and each ``district.yaml`` gets a
  distinct Chinese county name (``…县``);
- **places**: synth_district puts every district at the same origin; each county is
  shifted (schools, units, roads and boundary alike, by the same rounding, so road
  links keep sharing their nodes' exact coordinates) to its own place on a row-by-row
  layout with a 2 km gap, so the outlines tile a province map without overlapping;
- **children**: synth_district draws about twice as many school-age children in the
  residential units as its schools enrol; a real county's resident children are about
  its enrolment, so each stage's unit children are scaled to 97 % of the pupils of
  the county's public schools (private schools take the rest), which lets catchment
  plans be made;
- **distinct villages**: synth_district sometimes puts two residential units on one
  point, which the catchments' cells reject ("share one location"); the later one is
  moved 30 m east (60 m for a third, ...).

Everything is deterministic: the same ``k``, ``seed`` and sizes give the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import numpy as np

from planner.core.errors import PlanInputError
from planner.core.params import SynthProvinceParams
from planner.io.synth import synth_district

__all__ = ["synth_province", "county_sizes", "PROVINCE_CODE"]

#: prefix of the synthetic counties' folder codes (Hunan 43, unused prefecture 99)
PROVINCE_CODE = "4399"
M_PER_DEG_LAT = 110_574.0
GAP_M = 2000.0  # not-a-rule: metres between neighbouring counties on the layout
CHILD_SHARE = 0.97  # not-a-rule: resident children per public-school pupil (synthetic)
UNIT_STEP_M = 30.0  # not-a-rule: metres between two villages synth_district put on one point
_DEFAULTS = SynthProvinceParams()
NAME_CHARS = "东南西北安平兴隆福寿永清石桥河湖山岭塘坪湾田桃李竹松枫杨柳金龙凤新宁华阳江源溪"


def county_sizes(k: int, params: SynthProvinceParams = _DEFAULTS) -> list[int]:
    """The number of schools of each of ``k`` counties (log-normal around
    ``params.median_schools`` with spread 0.5, clipped to the min and max)."""
    if k < 1:
        raise PlanInputError(f"{k} counties: choose at least 1")
    lo, hi = params.min_schools, params.max_schools
    if not 10 <= lo <= hi:
        raise PlanInputError(f"--min-schools {lo}, --max-schools {hi}: need "
                             f"10 <= min <= max")
    rng = np.random.default_rng([params.seed, 20])  # not-a-rule: a seed stream label
    draw = rng.lognormal(math.log(params.median_schools), 0.5, k)  # not-a-rule: spread
    return [int(x) for x in np.clip(np.round(draw), lo, hi)]


def _names(k: int, seed: int) -> list[str]:
    rng = np.random.default_rng([int(seed), 21])  # not-a-rule: a seed stream label
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < k:
        a, b = rng.integers(0, len(NAME_CHARS), 2)
        name = NAME_CHARS[a] + NAME_CHARS[b] + "县"
        if a != b and name not in seen:
            seen.add(name)
            out.append(name)
    return out


def synth_province(k: int, out_dir: str | Path,
                   params: SynthProvinceParams = _DEFAULTS,
                   sizes: list[int] | None = None) -> list[Path]:
    """Write ``k`` synthetic counties into ``out_dir`` (one folder each); return them.

    ``sizes`` gives the counties' school numbers directly (one per county);
    otherwise :func:`county_sizes` draws them. County ``i`` (0-based) is made by
    ``synth_district(sizes[i], seed * 1000 + i, ...)``."""
    out = Path(out_dir)
    seed = params.seed
    if sizes is None:
        sizes = county_sizes(k, params)
    if len(sizes) != k or any(not 1 <= int(n) <= 200_000 for n in sizes):
        raise PlanInputError("sizes: one number of schools (1 to 200000) per county")
    names = _names(k, seed)
    digits = max(2, len(str(k)))
    folders = []
    for i, n in enumerate(sizes):
        folder = out / f"{PROVINCE_CODE}{i + 1:0{digits}d}"
        synth_district(int(n), int(seed) * 1000 + i, folder)
        folders.append(folder)
    # the layout: rows of counties, left to right, about sqrt(k) counties wide; the
    # top-left corner of the first county stays where synth_district put it
    boxes = [_extent(f) for f in folders]
    left, top = boxes[0][0], boxes[0][3]
    gap_lat = GAP_M / M_PER_DEG_LAT
    gap_lon = gap_lat / math.cos(math.radians(top))
    row_width = math.sqrt(k) * float(np.mean([b[2] - b[0] for b in boxes]))
    x = y = row_h = 0.0
    for f, (lon0, lat0, lon1, lat1), name in zip(folders, boxes, names):
        w, h = lon1 - lon0, lat1 - lat0
        if x > 0 and x + w > row_width * 1.05:  # not-a-rule: layout slack
            x, y, row_h = 0.0, y + row_h + gap_lat, 0.0
        _shift(f, (left + x) - lon0, (top - y) - lat1)
        _separate_units(f)
        _scale_children(f)
        _rename(f, name)
        x += w + gap_lon
        row_h = max(row_h, h)
    return folders


def _extent(folder: Path) -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of the boundary."""
    data = json.loads((folder / "boundary.geojson").read_text(encoding="utf-8"))
    pts = [p for f in data["features"] for ring in f["geometry"]["coordinates"] for p in ring]
    lons, lats = [p[0] for p in pts], [p[1] for p in pts]
    return min(lons), min(lats), max(lons), max(lats)


def _mover(dlon: float, dlat: float):
    def move(lon: float, lat: float) -> tuple[float, float]:
        return round(lon + dlon, 6), round(lat + dlat, 6)
    return move


def _shift(folder: Path, dlon: float, dlat: float) -> None:
    """Move every coordinate of the county by (dlon, dlat) degrees (south for dlat < 0
    so that rows go down the map)."""
    move = _mover(dlon, dlat)
    for name in ("schools.csv", "units.csv"):
        _rewrite_csv(folder / name, lambda row: _move_row(row, move))
    for name in ("roads.geojson", "boundary.geojson"):
        path = folder / name
        data = json.loads(path.read_text(encoding="utf-8"))
        for feat in data["features"]:
            geom = feat["geometry"]
            geom["coordinates"] = _move_coords(geom["coordinates"], move)
        path.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n",
                        encoding="utf-8")


def _move_coords(c, move):
    if c and isinstance(c[0], (int, float)):
        return list(move(float(c[0]), float(c[1])))
    return [_move_coords(x, move) for x in c]


def _move_row(row: dict, move) -> dict:
    lon, lat = move(float(row["lon"]), float(row["lat"]))
    row["lon"], row["lat"] = repr(lon), repr(lat)
    return row


def _rewrite_csv(path: Path, fix) -> None:
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    head = text.split("\n", 1)[0].split(",")
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=head, lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(fix(r))
    path.write_text(buf.getvalue(), encoding="utf-8")


def _separate_units(folder: Path) -> None:
    """Move apart residential units that share one location (synth_district sometimes
    puts two villages on one point; catchment cells need distinct points): the k-th
    unit on an occupied point goes k × UNIT_STEP_M metres east, onto a free point."""
    units = list(csv.DictReader(io.StringIO((folder / "units.csv").read_text("utf-8"))))
    seen: set[tuple[str, str]] = set()
    moved: dict[int, tuple[str, str]] = {}
    for n, u in enumerate(units):
        lon, lat = float(u["lon"]), float(u["lat"])
        step = UNIT_STEP_M / (M_PER_DEG_LAT * math.cos(math.radians(lat)))
        k, pt = 0, (u["lon"], u["lat"])
        while pt in seen:
            k += 1
            pt = (repr(round(lon + k * step, 6)), u["lat"])
        seen.add(pt)
        if k:
            moved[n] = pt
    if not moved:
        return
    i = iter(range(len(units)))

    def fix(row: dict) -> dict:
        k = next(i)
        if k in moved:
            row["lon"], row["lat"] = moved[k]
        return row

    _rewrite_csv(folder / "units.csv", fix)


def _scale_children(folder: Path) -> None:
    """Scale each stage's unit children to CHILD_SHARE of the public schools' pupils
    (largest remainders, so the total is exact and the same every time)."""
    schools = list(csv.DictReader(io.StringIO((folder / "schools.csv").read_text("utf-8"))))
    units_text = (folder / "units.csv").read_text(encoding="utf-8")
    units = list(csv.DictReader(io.StringIO(units_text)))
    new: dict[str, list[int]] = {}
    for stage in ("primary", "junior"):
        col = f"children_{stage}"
        pupils = sum(int(s[f"students_{stage}"]) for s in schools
                     if s["public"] == "true" and s["type"] != "special")
        now = np.array([int(u[col]) for u in units], dtype=float)
        want = int(round(pupils * CHILD_SHARE))
        q = now * want / now.sum() if now.sum() > 0 else now
        c = np.floor(q).astype(np.int64)
        order = np.lexsort((np.arange(len(q)), -(q - c)))
        c[order[:max(0, want - int(c.sum()))]] += 1
        new[col] = c.tolist()
    i = iter(range(len(units)))

    def fix(row: dict) -> dict:
        k = next(i)
        for col, vals in new.items():
            row[col] = str(vals[k])
        return row

    _rewrite_csv(folder / "units.csv", fix)


def _rename(folder: Path, name: str) -> None:
    """The county's name in district.yaml and boundary.geojson."""
    y = folder / "district.yaml"
    y.write_text(re.sub(r"^name: .*$", f"name: {name}", y.read_text(encoding="utf-8"),
                        count=1, flags=re.M), encoding="utf-8")
    b = folder / "boundary.geojson"
    data = json.loads(b.read_text(encoding="utf-8"))
    for f in data["features"]:
        f["properties"]["name"] = name
    b.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n",
                 encoding="utf-8")
