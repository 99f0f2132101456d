"""The Scenario page's form, built from the parameters classes themselves.

Every plan section of a scenario file (:data:`planner.plans.scenario.SECTIONS`:
consolidation, rotation, catchments, and any section a later plan adds, such as
remediation costs and budget) becomes a fieldset, and every field of its parameters
class (:mod:`planner.core.params`) an input chosen by its check: a checkbox for a
truth value, a choice list for ``one of ...``, a number box for a number (empty:
the class's default, or the standard's value where the default is ``None``), a
group for a nested record (costs). Three fields have their own inputs: the closures
(rows of school, receiving school, share), the stages (checkboxes), a catchment
file (the workspace's saved ones).

:func:`scenario_from_form` turns the posted form into the scenario's mapping; the
page writes it as YAML and reads it back with :func:`planner.plans.scenario.load_scenario`
before it is kept, so a saved file is one ``planner run`` accepts unchanged (and
the loader's lines are shown when it is not).
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any, Mapping

from planner.core.params import BOOL, SolveParams, field_default

#: fields with their own inputs (section, field)
SPECIAL = {("consolidation", "closures"), ("catchments", "stages"), ("catchments", "plan")}
#: empty closure rows offered below the given ones
SPARE_ROWS = 3
STAGES = ("primary", "junior")


def _choices(check) -> list[str] | None:
    what = getattr(check, "what", "") or ""
    if what.startswith("one of "):
        return [c.strip() for c in what[len("one of "):].split(",")]
    return None


def _is_int(f, check) -> bool:
    return isinstance(field_default(f), int) and not isinstance(field_default(f), bool) or \
        "whole number" in (getattr(check, "what", "") or "")


def field_specs(section: str, cls) -> list[dict]:
    """The inputs of one section: ``{"name", "kind", "default", "choices", "sub"}``
    with ``kind`` one of bool, choice, int, number, text, group and the special
    kinds closures, stages, plan."""
    out = []
    for f in fields(cls):
        check = f.metadata.get("check")
        default = field_default(f)
        spec: dict[str, Any] = {"name": f.name, "default": default, "choices": None,
                                "help": f.metadata.get("help", "")}
        if (section, f.name) in SPECIAL:
            spec["kind"] = {"closures": "closures", "stages": "stages", "plan": "plan"}[f.name]
        elif is_dataclass(default) and not isinstance(default, type):
            spec["kind"] = "group"
            spec["sub"] = [{"name": g.name, "default": getattr(default, g.name),
                            "kind": "number"} for g in fields(default)]
        elif check is BOOL or isinstance(default, bool):
            spec["kind"] = "bool"
        elif _choices(check):
            spec["kind"] = "choice"
            spec["choices"] = _choices(check)
        elif isinstance(default, (int, float)) or default is None and check is not None \
                and "number" in check.what:
            spec["kind"] = "int" if _is_int(f, check) else "number"
        else:
            spec["kind"] = "text"
        out.append(spec)
    return out


def sections() -> dict[str, list[dict]]:
    """Every plan section of a scenario and its inputs."""
    from planner.plans.scenario import SECTIONS
    return {key: field_specs(key, cls) for key, cls in SECTIONS.items()}


def solve_specs() -> list[dict]:
    return field_specs("", SolveParams)


def _number(text: str, as_int: bool) -> Any:
    t = text.strip().replace("，", ".").replace(",", ".")
    try:
        if as_int:
            return int(t)
        v = float(t)
        return int(v) if v.is_integer() and "." not in t and "e" not in t.lower() else v
    except ValueError:
        return text.strip()       # the loader's check names it


def _field_value(spec: dict, form: Mapping[str, str], prefix: str) -> tuple[bool, Any]:
    """(given, value) of one input; not given: the default applies."""
    key = prefix + spec["name"]
    kind = spec["kind"]
    if kind == "bool":
        on = form.get(key) in ("on", "true", "1")
        return on != bool(spec["default"]), on
    raw = (form.get(key) or "").strip()
    if raw == "":
        return False, None
    if kind in ("int", "number"):
        return True, _number(raw, kind == "int")
    return True, raw


def scenario_from_form(form: Mapping[str, Any], closures: list[dict], stages: list[str]
                       ) -> dict:
    """The scenario mapping (YAML) of a posted form. ``closures``: rows of the
    closures editor; ``stages``: the checked stages."""
    out: dict[str, Any] = {"schema": 1, "name": (form.get("name") or "").strip(),
                           "district": f"../districts/{form.get('district', '')}"}
    lang = form.get("lang") or ""
    if lang:
        out["lang"] = lang
    for spec in solve_specs():
        given, v = _field_value(spec, form, "solve.")
        if given:
            out[spec["name"]] = v
    for key, specs in sections().items():
        if form.get(f"{key}.enabled") not in ("on", "true", "1"):
            continue
        sec: dict[str, Any] = {}
        for spec in specs:
            kind = spec["kind"]
            if kind == "closures":
                rows = [r for r in closures if r.get("school_id") or r.get("receiving_school_id")]
                if rows:
                    sec["closures"] = [
                        {k: (_number(v, False) if k == "share" else v) for k, v in r.items()
                         if v != ""} for r in rows]
            elif kind == "stages":
                sec["stages"] = [s for s in STAGES if s in stages]
            elif kind == "plan":
                plan = (form.get(f"{key}.plan") or "").strip()
                if plan:
                    sec["plan"] = f"../catchments/{plan}.csv"
            elif kind == "group":
                sub = {}
                for g in spec["sub"]:
                    given, v = _field_value(g, form, f"{key}.{spec['name']}.")
                    if given:
                        sub[g["name"]] = v
                if sub:
                    sec[spec["name"]] = sub
            else:
                given, v = _field_value(spec, form, f"{key}.")
                if given:
                    sec[spec["name"]] = v
        out[key] = sec or None
    return out


def form_values(raw: Mapping[str, Any], district_name: str) -> dict[str, Any]:
    """The form's inputs prefilled from a scenario file's mapping (its raw YAML)."""
    vals: dict[str, Any] = {"name": raw.get("name", ""), "district": district_name,
                            "lang": raw.get("lang") or ""}
    for spec in solve_specs():
        if spec["name"] in raw:
            vals[f"solve.{spec['name']}"] = raw[spec["name"]]
    for key, specs in sections().items():
        if key not in raw:
            continue
        vals[f"{key}.enabled"] = True
        sec = raw.get(key) or {}
        if not isinstance(sec, dict):
            continue
        for spec in specs:
            v = sec.get(spec["name"])
            if v is None:
                continue
            if spec["kind"] == "group" and isinstance(v, dict):
                for g, gv in v.items():
                    vals[f"{key}.{spec['name']}.{g}"] = gv
            elif spec["kind"] == "plan":
                vals[f"{key}.plan"] = str(v).rsplit("/", 1)[-1].removesuffix(".csv")
            elif spec["kind"] == "stages":
                vals[f"{key}.stages"] = [v] if isinstance(v, str) else list(v)
            else:
                vals[f"{key}.{spec['name']}"] = v
    return vals
