"""A variant standard drives everything: the whole demo scenario run on a copy of
hunan-2023.yaml with a primary class limit of 40 (was 45), a rotation share of 15 %
(was 10 %) and a lower floor of indicator 1 for primary (4.0 teachers per 100 pupils,
was 4.2), named by the district's ``standard:``. The check, every plan and every
verifier must follow the file; none may keep the Hunan numbers.

This test needs the plans and verifiers to read their numbers from ``Rules`` (issue
11, the rotation, consolidation and catchments work); on a branch where one of them
still holds a literal, the part about it fails and names it.
"""

from __future__ import annotations

import json
import math
import shutil
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
import yaml
from verify_helpers import said_at

from planner.cli import main
from planner.core.rules import STANDARDS_DIR
from planner.io.load import load_district
from planner.verify import verify_dir

ROOT = Path(__file__).resolve().parents[1]
YUNXI = ROOT / "geodata" / "yunxi"
CLOSURES = ROOT / "scenarios" / "yunxi-2024-closures.csv"
NAME = "variant-40-15"
CLASS_LIMIT, SHARE, FLOOR_1 = 40, 0.15, 4.0


def _variant_file(folder: Path, single_stage_max: int | None = None) -> Path:
    data = yaml.safe_load((STANDARDS_DIR / "hunan-2023.yaml").read_text(encoding="utf-8"))
    data["name"] = NAME
    for d in data["indicators"]:
        if d["id"] == 13:
            d["params"]["max_class"]["primary"] = CLASS_LIMIT
        if d["id"] == 19:
            d["params"]["rotated_share"] = SHARE
        if d["id"] == 1:
            d["threshold"]["primary"] = FLOOR_1
        if d["id"] == 12 and single_stage_max is not None:
            d["params"]["single_stage_max"] = single_stage_max
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / f"{NAME}.yaml"
    p.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return p


def _scenario(folder: Path, district: Path) -> Path:
    """The demo scenario on ``district``; rotation without shares of its own (so
    that the standard's share applies)."""
    s = yaml.safe_load((ROOT / "scenarios" / "yunxi-2024.yaml").read_text(encoding="utf-8"))
    s["district"] = str(district)
    s["consolidation"]["closures"] = str(CLOSURES)
    s["rotation"] = {}
    p = folder / f"{district.name}.yaml"
    p.write_text(yaml.safe_dump(s, allow_unicode=True), encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The demo run on the variant and the single plans made under Hunan's rules."""
    root = tmp_path_factory.mktemp("variant")
    std = _variant_file(root)
    d = root / "yunxi-variant"
    shutil.copytree(YUNXI, d, ignore=shutil.ignore_patterns("build.py", "__pycache__"))
    text = (d / "district.yaml").read_text(encoding="utf-8")
    assert "standard: hunan-2023" in text
    (d / "district.yaml").write_text(text.replace("standard: hunan-2023", f"standard: {std}"),
                                     encoding="utf-8")
    out = root / "run"
    rc = main(["run", str(_scenario(root, d)), "--out", str(out), "--quiet"])
    hunan = {}
    for cmd in ("rotate", "catchments"):
        hunan[cmd] = root / f"hunan-{cmd}"
        assert main([cmd, str(YUNXI), "--out", str(hunan[cmd])]) == 0
    hunan["consolidate"] = root / "hunan-consolidate"
    assert main(["consolidate", str(YUNXI), "--plan", str(CLOSURES),
                 "--out", str(hunan["consolidate"])]) == 0
    return {"rc": rc, "out": out, "district": d, "hunan": hunan}


def _json(p: Path) -> dict:
    return json.loads(p.read_text(encoding="utf-8"))


def test_the_district_names_the_variant(runs):
    d = load_district(runs["district"])
    assert d.rules.name == NAME and d.rules.max_class["primary"] == CLASS_LIMIT
    assert d.rules.rotation_share == SHARE and d.rules.threshold(1, "primary") == FLOOR_1


def test_the_check_follows_the_variant(runs):
    out = runs["out"]
    before = _json(out / "indicators_before.json")
    assert before["standard"] == NAME
    ind = {i["id"]: i for i in before["indicators"]}
    assert ind[13]["threshold"]["primary"] == CLASS_LIMIT
    assert ind[19]["threshold"]["rotated_share"] == SHARE
    assert ind[1]["threshold"]["primary"] == FLOOR_1
    # every school with a primary class above 40 fails 13 (Hunan's 45 lets 41-45 pass)
    s = pd.read_csv(runs["district"] / "schools.csv", dtype={"school_id": str})
    big = s[(s["students_primary"] > 0) & (s["type"] != "special")
            & (s["max_class_primary"] > CLASS_LIMIT)]
    assert (big["max_class_primary"] <= 45).any()              # the variant matters here
    failing = {f["school_id"] for f in ind[13]["failing_schools"] if f["stage"] == "primary"}
    assert failing == set(big["school_id"])


def test_the_run_is_consistent(runs, capsys):
    """0: every plan made and verified; 3: a plan cannot meet the variant's limits."""
    assert runs["rc"] in (0, 3)
    figures = _json(runs["out"] / "figures.json")
    assert figures["verified"] is (runs["rc"] == 0)


def test_rotation_follows_the_share_and_the_floors(runs):
    s = _json(runs["out"] / "rotation" / "summary.json")
    assert s["required"] == math.ceil(SHARE * s["eligible"])     # 15 %, not 10 %
    if s["status"] in ("optimal", "feasible"):
        assert s["rotated"] >= s["required"]
    floors = {"primary": (FLOOR_1, 1.0, 0.9), "junior": (5.3, 1.0, 0.9)}
    for p in s["parts"]:
        f = floors[p["stage"]]
        for key, values in (("floors_met_before", p["before"]), ("floors_met_after", p["after"])):
            assert p[key] == all(v + 1e-9 >= fl for v, fl in zip(values, f)), (p, key)


def test_consolidation_judges_classes_by_the_variant(runs):
    s = _json(runs["out"] / "consolidation" / "summary.json")
    judged = 0
    for rid, r in s["receivers"].items():
        for side in ("before", "after"):
            mc = (r[side].get("13") or {}).get("max_class", {}).get("primary")
            if mc is not None and CLASS_LIMIT < mc <= 45:
                judged += 1
                assert r[side]["13"]["passed"] is False, (rid, side, mc)
    assert judged > 0          # receivers with classes of 41-45 (pass under Hunan's rule)


def test_catchment_seats_follow_the_class_limit(runs):
    zones = _json(runs["out"] / "catchments" / "catchments.geojson")["features"]
    s = pd.read_csv(runs["district"] / "schools.csv", dtype={"school_id": str})
    s = s.set_index("school_id")
    checked = 0
    for z in zones:
        p = z["properties"]
        row = s.loc[p["school_id"]]
        if p["stage"] == "primary" and row["type"] == "primary":
            # issue 16: the places are the most pupils passing every indicator, so the
            # classrooms x the variant's class limit bound them, and give them where
            # indicator 13 binds (seats are places / take-up, in children)
            assert p["places"] <= row["classrooms"] * CLASS_LIMIT, p["school"]
            if p["binding"] == "13":
                assert p["places"] == row["classrooms"] * CLASS_LIMIT, p["school"]
                checked += 1
    assert checked > 0


def test_every_verifier_follows_the_variant(runs):
    """The plans made under the variant pass its verifier; plans made under Hunan's
    rules are rejected by it where the variant is stricter."""
    assert runs["rc"] != 0 or _json(runs["out"] / "figures.json")["verified"]
    variant = load_district(runs["district"])
    hunan = runs["hunan"]
    # rotation: Hunan's 10 % of the eligible teachers is short of 15 %
    moved = len(pd.read_csv(hunan["rotate"] / "rotation.csv"))
    eligible = _json(hunan["rotate"] / "summary.json")["eligible"]
    assert moved < math.ceil(SHARE * eligible)
    errs = said_at(verify_dir(hunan["rotate"], variant, {}))
    assert any("rotation" in e for e in errs), errs
    # consolidation: the verifier judges a receiver by the standard it is given. New
    # pupils fill free seats up to the class limit, then open classes; under a variant
    # whose largest primary school is 1,400 pupils, 云溪小学 (Y001: 1,380 + 31 pupils
    # from the plan) is too big, while Hunan's 2,000 lets the same files pass.
    assert not verify_dir(hunan["consolidate"], load_district(YUNXI), {})
    small = _variant_file(runs["district"].parent / "small", single_stage_max=1400)
    errs = said_at(verify_dir(hunan["consolidate"],
                              replace(load_district(YUNXI), standard=str(small)), {}))
    assert any("Y001" in e and "> 1400" in e for e in errs), errs
    # catchments: a primary zone over 40 pupils a classroom is over capacity (issue 16:
    # the zone's pupils at full turnover, its children at the take-up, are checked)
    s = variant.schools.set_index("school_id")
    over = [z["properties"]["school_id"] for z in
            _json(hunan["catchments"] / "catchments.geojson")["features"]
            if z["properties"]["stage"] == "primary"
            and s.loc[z["properties"]["school_id"], "type"] == "primary"
            and z["properties"]["pupils"] > s.loc[z["properties"]["school_id"],
                                                  "classrooms"] * CLASS_LIMIT]
    errs = verify_dir(hunan["catchments"], variant, {})
    assert over and all(any(sid in str(e) for e in errs) for sid in over), (over, errs)
