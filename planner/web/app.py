"""The Starlette application of ``planner serve`` (see :mod:`planner.web`).

Safe by default:

- it is meant to listen on 127.0.0.1 (``planner serve``'s default); requests whose
  ``Host`` is not one the app was started for are refused (DNS rebinding);
- every state-changing request (POST) carries the app's token (a form field
  ``csrf`` or the header ``X-CSRF-Token``), and a request whose ``Origin`` or
  ``Referer`` names another site is refused: another site can neither read the token
  nor pass the check;
- every page is a Jinja2 template with autoescaping, so every value is escaped; the
  app's pages run no inline script (``Content-Security-Policy`` allows only the
  app's own files); a run's report and map (self-contained HTML with inline
  scripts) are served in a sandbox (an opaque origin: they cannot call the app);
- uploads are limited in size (``Content-Length`` checked before the body is read)
  and unpacked by :mod:`planner.web.workspace` inside the workspace only;
- a run goes into a folder of its own (:mod:`planner.web.jobs`); a failed run shows
  its error and leaves earlier runs as they were.

Chinese by default; ``?lang=en`` (remembered in a cookie) for English. Every word
comes from the catalogue (``planner/outputs/catalogue/web.yaml`` and the others).
"""

from __future__ import annotations

import json
import secrets
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from planner.outputs.i18n import LANGS, catalogue, label, tr, yes_no
from planner.web import forms
from planner.web.jobs import Runner
from planner.web.workspace import (
    MAX_NAME,
    MAX_UPLOAD_BYTES,
    MB,
    UploadError,
    Workspace,
    check_name,
    listing,
    safe_file,
    slug,
    unpack_workbook,
    unpack_zip,
)

HERE = Path(__file__).resolve().parent

#: the app's own pages: only its own scripts and styles
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; frame-src 'self'; object-src 'none'; base-uri 'none'; "
            "form-action 'self'; frame-ancestors 'self'")
#: a run's own HTML (report, map): inline scripts, in a sandbox of its own origin
RUN_HTML_CSP = ("sandbox allow-scripts allow-popups allow-popups-to-escape-sandbox "
                "allow-downloads; default-src 'none'; script-src 'unsafe-inline'; "
                "style-src 'unsafe-inline'; img-src data: blob: https:; font-src data:; "
                "frame-src 'self' data: about:; frame-ancestors 'self'")
#: most skipped files listed, most runs compared, most fields of a posted form
SHOWN, COMPARE_MAX, FORM_FIELDS = 64, 16, 4096
#: hosts a local app answers to (with any port)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _vendor_dirs() -> dict[str, Path]:
    import xstatic.pkg.jquery as xjq
    import xstatic.pkg.leaflet as xl
    return {"leaflet": Path(xl.BASE_DIR), "jquery": Path(xjq.BASE_DIR)}


class App:
    """The app's state: the workspace, the run queue, the district cache, the zones
    sessions; one per server."""

    def __init__(self, workspace: Path, seed: bool = True):
        self.ws = Workspace(workspace).init(seed=seed)
        self.runner = Runner(self.ws)
        self.token = secrets.token_urlsafe(32)
        import jinja2
        env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(HERE / "templates")),
                                 autoescape=True, undefined=jinja2.StrictUndefined)
        self.templates = Jinja2Templates(env=env)
        self._districts: dict[str, tuple[tuple, Any]] = {}
        self.zones: dict[str, Any] = {}
        self.zone_lock = threading.Lock()

    # ------------------------------------------------------------- helpers

    def lang(self, request: Request) -> str:
        q = request.query_params.get("lang")
        if q in LANGS:
            return q
        c = request.cookies.get("lang")
        return c if c in LANGS else "zh"

    def render(self, request: Request, template: str, status: int = 200, /,
               **ctx: Any) -> Response:
        lang = self.lang(request)

        def t(key: str, **fmt: Any) -> str:
            return tr(key, lang, **fmt)

        def fl(section: str, name: str) -> str:
            key = f"web.field.{section}.{name}"
            return tr(key, lang) if key in catalogue() else name

        def cw(code: Any) -> str:
            key = f"web.choice.{code}"
            return tr(key, lang) if key in catalogue() else str(code)

        base = {"lang": lang, "t": t, "fl": fl, "cw": cw, "nav": "",
                "label": lambda k, c: label(k, c, lang),
                "yes_no": lambda v: yes_no(v, lang), "csrf": self.token,
                "path": request.url.path,
                "keep_query": "".join(f"{quote(k)}={quote(v)}&" for k, v in
                                      request.query_params.multi_items() if k != "lang")}
        resp = self.templates.TemplateResponse(request, template, {**base, **ctx},
                                               status_code=status)
        if request.query_params.get("lang") in LANGS:
            resp.set_cookie("lang", request.query_params["lang"], samesite="strict",
                            httponly=True)
        return resp

    def district(self, name: str):
        """``(District or None, problems)`` of a workspace district; cached by the
        names, sizes and times of its files."""
        from planner.core.errors import DataError
        from planner.io.load import load_district
        path = self.ws.district_path(name)
        if not path.is_dir():
            raise UploadError("no_district", name=name)
        key = tuple(sorted((p.name, p.stat().st_size, p.stat().st_mtime_ns)
                           for p in path.iterdir() if p.is_file()))
        hit = self._districts.get(name)
        if hit and hit[0] == key:
            return hit[1]
        try:
            value = (load_district(path), [])
        except DataError as e:
            value = (None, list(e.problems))
        self._districts[name] = (key, value)
        return value

    def check_csrf(self, request: Request, token: str | None) -> None:
        if not token or not secrets.compare_digest(token, self.token):
            raise Forbidden()
        host = request.headers.get("host", "")
        for h in ("origin", "referer"):
            v = request.headers.get(h)
            if v and v != "null" and urlsplit(v).netloc != host:
                raise Forbidden()
            if v == "null":
                raise Forbidden()


class Forbidden(Exception):
    """A state-changing request without the app's token or from another site."""


def _security_headers(app_handler):
    async def handler(request: Request):
        resp = await app_handler(request)
        resp.headers.setdefault("Content-Security-Policy", PAGE_CSP)
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("Referrer-Policy", "same-origin")
        resp.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp
    return handler


def create_app(workspace: str | Path, *, allowed_hosts: list[str] | None = None,
               seed: bool = True) -> Starlette:
    """The web app on ``workspace`` (created when missing; a new one gets the
    bundled Yunxi district and its demo scenario). ``allowed_hosts``: the ``Host``
    names it answers to (default: the local names only)."""
    st = App(Path(workspace), seed=seed)

    def err_msg(lang: str, e: UploadError) -> str:
        return tr(f"web.upload.{e.code}", lang, **e.values)

    # ------------------------------------------------------------ district

    async def district_page(request: Request):
        lang = st.lang(request)
        names = st.ws.district_names()
        name = request.query_params.get("name") or (names[0] if names else "")
        ctx: dict[str, Any] = {"names": names, "name": name, "district": None,
                               "problems": [], "upload_error": None, "skipped": [],
                               "nav": "district"}
        if request.query_params.get("skipped"):
            ctx["skipped"] = request.query_params.getlist("skipped")[:SHOWN]
        if name:
            try:
                d, problems = st.district(name)
            except UploadError as e:
                return st.render(request, "error.html", 404, message=err_msg(lang, e))
            ctx["problems"] = problems
            if d is not None:
                ctx["district"] = _district_summary(d, lang)
        return st.render(request, "district.html", **ctx)

    async def district_upload(request: Request):
        lang = st.lang(request)
        try:
            size = int(request.headers.get("content-length", ""))
        except ValueError:
            size = -1
        if size < 0 or size > MAX_UPLOAD_BYTES:
            msg = tr("web.upload.too_big", lang, limit=MAX_UPLOAD_BYTES // MB)
            return st.render(request, "district.html", 413, names=st.ws.district_names(),
                             name="", district=None, problems=[], upload_error=msg,
                             skipped=[], nav="district")
        form = await request.form(max_files=1, max_fields=10)
        st.check_csrf(request, form.get("csrf"))
        upload = form.get("file")
        replace = form.get("replace") == "on"
        tmp_file = None
        try:
            if not isinstance(upload, UploadFile) or not upload.filename:
                raise UploadError("no_file")
            fname = Path(upload.filename.replace("\\", "/")).name
            stem = Path(fname).stem
            name = check_name((form.get("name") or "").strip() or slug(stem))
            suffix = Path(fname).suffix.lower()
            if suffix not in (".zip", ".xlsx"):
                raise UploadError("bad_type", name=fname[:MAX_NAME])
            tmp_dir = Path(tempfile.mkdtemp(prefix="up-", dir=st.ws.state / "tmp"))
            tmp_file = tmp_dir / ("upload" + suffix)
            written = 0
            with open(tmp_file, "wb") as fh:
                while chunk := await upload.read(MB):
                    written += len(chunk)
                    if written > MAX_UPLOAD_BYTES:
                        raise UploadError("too_big", limit=MAX_UPLOAD_BYTES // MB)
                    fh.write(chunk)
            if suffix == ".zip":
                folder, skipped = unpack_zip(st.ws, tmp_file)
            else:
                folder, skipped = unpack_workbook(st.ws, tmp_file, name)
            st.ws.install(folder, name, replace=replace)
        except UploadError as e:
            return st.render(request, "district.html", 400, names=st.ws.district_names(),
                             name="", district=None, problems=[],
                             upload_error=err_msg(lang, e), skipped=[], nav="district")
        finally:
            if tmp_file is not None:
                shutil.rmtree(tmp_file.parent, ignore_errors=True)
        st._districts.pop(name, None)
        q = "&".join(f"skipped={quote(s)}" for s in skipped[:SHOWN])
        return RedirectResponse(f"/district?name={quote(name)}" + (f"&{q}" if q else ""),
                                status_code=303)

    # ------------------------------------------------------------ scenario

    async def scenario_page(request: Request):
        lang = st.lang(request)
        name = request.query_params.get("name", "")
        districts = st.ws.district_names()
        values: dict[str, Any] = {"district": request.query_params.get("district") or
                                  (districts[0] if districts else "")}
        closures: list[dict] = []
        problems: list[str] = []
        if name:
            try:
                values, closures, problems = _scenario_values(st, name, lang)
            except UploadError as e:
                return st.render(request, "error.html", 404, message=err_msg(lang, e))
        return _scenario_render(request, st, name, values, closures, problems,
                                saved=bool(request.query_params.get("saved")))

    async def scenario_save(request: Request):
        form = await request.form(max_files=0, max_fields=FORM_FIELDS)
        st.check_csrf(request, form.get("csrf"))
        lang = st.lang(request)
        flat = {k: v for k, v in form.items() if isinstance(v, str)}
        closures = _closure_rows(form)
        stages = form.getlist("catchments.stages")
        name_text = (flat.get("file") or "").strip() or slug(flat.get("name", ""))
        values = dict(flat)
        values["catchments.stages"] = stages
        for k in list(values):
            if k.endswith(".enabled") or forms_bool(k):
                values[k] = values[k] == "on"
        try:
            fname = check_name(name_text)
            check_name(flat.get("district", ""))
        except UploadError as e:
            return _scenario_render(request, st, "", values, closures, [err_msg(lang, e)],
                                    status=400)
        data = forms.scenario_from_form(flat, closures, stages)
        problems = _write_scenario(st, fname, data)
        if problems:
            return _scenario_render(request, st, "", values, closures, problems, status=400,
                                    file=fname)
        return RedirectResponse(f"/scenario?name={quote(fname)}&saved=1", status_code=303)

    def forms_bool(key: str) -> bool:
        for sec, specs in [("solve", forms.solve_specs()), *forms.sections().items()]:
            for s in specs:
                if s["kind"] == "bool" and key == f"{sec}.{s['name']}":
                    return True
        return False

    # ------------------------------------------------------------ runs

    async def runs_page(request: Request):
        jobs = st.runner.all()
        return st.render(request, "runs.html", scenarios=st.ws.scenario_names(), jobs=jobs,
                         nav="run", selected=request.query_params.get("scenario", ""))

    async def runs_start(request: Request):
        form = await request.form(max_files=0, max_fields=10)
        st.check_csrf(request, form.get("csrf"))
        lang = st.lang(request)
        try:
            name = check_name(form.get("scenario") or "")
            if not st.ws.scenario_path(name).is_file():
                raise UploadError("no_scenario", name=name)
        except UploadError as e:
            return st.render(request, "error.html", 400, message=err_msg(lang, e))
        job = st.runner.submit(name, lang)
        return RedirectResponse(f"/runs/{quote(job.id)}", status_code=303)

    async def run_page(request: Request):
        job = st.runner.get(request.path_params["run_id"])
        if job is None:
            return st.render(request, "error.html", 404, message=tr("web.run.unknown",
                                                                     st.lang(request)))
        files = listing(st.ws.runs / job.id) if job.has_files else []
        return st.render(request, "run.html", job=job, files=files, nav="run",
                         has_catchments=any(f == "catchments/units.csv" for f, _ in files))

    async def run_api(request: Request):
        job = st.runner.get(request.path_params["run_id"])
        if job is None:
            return JSONResponse({"error": "unknown run"}, status_code=404)
        lang = st.lang(request)
        d = job.to_json()
        d["step_words"] = {s: tr(f"run.step.{s}", lang) for s in job.planned}
        d["status_word"] = tr(f"web.job.{job.status}", lang)
        d.pop("figures", None)
        return JSONResponse(d)

    async def run_file(request: Request):
        job = st.runner.get(request.path_params["run_id"])
        if job is None or not job.has_files:
            return PlainTextResponse("not found", status_code=404)
        try:
            p = safe_file(st.ws.runs / job.id, request.path_params["path"])
        except UploadError:
            return PlainTextResponse("not found", status_code=404)
        if p.suffix.lower() in (".html", ".htm"):
            resp = FileResponse(p, media_type="text/html; charset=utf-8")
            resp.headers["Content-Security-Policy"] = RUN_HTML_CSP
            return resp
        media = {".json": "application/json", ".csv": "text/csv; charset=utf-8",
                 ".geojson": "application/geo+json"}.get(p.suffix.lower(),
                                                         "application/octet-stream")
        return FileResponse(p, media_type=media, filename=p.name,
                            content_disposition_type="attachment")

    # ------------------------------------------------------------ zones

    def zone_session(run_id: str):
        from planner.web import zones
        with st.zone_lock:
            s = st.zones.get(run_id)
            if s is not None:
                return s
        job = st.runner.get(run_id)
        if job is None or not job.has_files:
            raise zones.ZoneError("no_run")
        s = zones.open_session(st.ws.runs / run_id, st.ws.scenario_path(job.scenario), run_id)
        with st.zone_lock:
            return st.zones.setdefault(run_id, s)

    async def zones_page(request: Request):
        lang = st.lang(request)
        run_id = request.path_params["run_id"]
        job = st.runner.get(run_id)
        if job is None:
            return st.render(request, "error.html", 404, message=tr("web.run.unknown", lang))
        return st.render(request, "zones.html", job=job, nav="zones",
                         plans=st.ws.plan_names(), default_name=f"{slug(job.scenario)}-zones")

    async def zones_index(request: Request):
        jobs = [j for j in st.runner.all() if j.has_files and
                (st.ws.runs / j.id / "catchments" / "units.csv").is_file()]
        return st.render(request, "zones_index.html", jobs=jobs, nav="zones")

    def _zone_error(lang: str, e) -> JSONResponse:
        return JSONResponse({"error": tr(f"web.zones.{e.code}", lang, **e.values)},
                            status_code=400)

    async def zones_state(request: Request):
        from planner.core.errors import DataError, PlanInputError
        from planner.web import zones
        lang = st.lang(request)
        try:
            s = await _in_thread(zone_session, request.path_params["run_id"])
            data = await _in_thread(zones.map_data, s)
            check = await _in_thread(zones.recheck, s)
        except zones.ZoneError as e:
            return _zone_error(lang, e)
        except (DataError, PlanInputError) as e:
            lines = e.problems if isinstance(e, DataError) else [str(e)]
            return JSONResponse({"error": tr("web.zones.cannot_open", lang),
                                 "lines": lines}, status_code=400)
        return JSONResponse({"map": data, "check": check, "words": _zone_words(lang),
                             "changed_inputs": s.changed_inputs})

    async def zones_move(request: Request):
        from planner.web import zones
        st.check_csrf(request, request.headers.get("x-csrf-token"))
        lang = st.lang(request)
        try:
            body = json.loads(await request.body() or b"{}")
            s = await _in_thread(zone_session, request.path_params["run_id"])
            school = body.get("school") or None
            check = await _in_thread(zones.move, s, str(body.get("stage", "")),
                                     str(body.get("unit", "")), school)
        except zones.ZoneError as e:
            return _zone_error(lang, e)
        except (ValueError, AttributeError):
            return JSONResponse({"error": tr("web.zones.bad_request", lang)}, status_code=400)
        return JSONResponse({"check": check})

    async def zones_reset(request: Request):
        from planner.web import zones
        st.check_csrf(request, request.headers.get("x-csrf-token"))
        try:
            s = await _in_thread(zone_session, request.path_params["run_id"])
        except zones.ZoneError as e:
            return _zone_error(st.lang(request), e)
        return JSONResponse({"check": await _in_thread(zones.reset, s)})

    async def zones_save(request: Request):
        from planner.web import zones
        st.check_csrf(request, request.headers.get("x-csrf-token"))
        lang = st.lang(request)
        try:
            body = json.loads(await request.body() or b"{}")
            name = check_name(str(body.get("name", "")))
            s = await _in_thread(zone_session, request.path_params["run_id"])
            problems = await _in_thread(zones.save, s, st.ws.plan_path(name))
        except UploadError as e:
            return JSONResponse({"error": err_msg(lang, e)}, status_code=400)
        except zones.ZoneError as e:
            return _zone_error(lang, e)
        out: dict[str, Any] = {"file": f"catchments/{name}.csv", "problems": problems,
                               "verified": not problems}
        if body.get("scenario"):
            raw = _scenario_raw(st, st.runner.get(s.run_id).scenario)
            sec = dict(raw.get("catchments") or {})
            sec["plan"] = f"../catchments/{name}.csv"
            raw["catchments"] = sec
            raw["name"] = f"{raw.get('name', '')} · {tr('web.zones.edited', lang)}"
            sproblems = _write_scenario(st, name, raw)
            out["scenario"] = None if sproblems else name
            out["scenario_problems"] = sproblems
        return JSONResponse(out)

    # ------------------------------------------------------------ compare

    async def compare_page(request: Request):
        from planner.outputs.run import comparison_frame
        lang = st.lang(request)
        chosen = request.query_params.getlist("run")[:COMPARE_MAX]
        jobs = [j for j in st.runner.all() if j.has_files]
        table = None
        if chosen:
            names, figs = [], []
            for rid in chosen:
                j = st.runner.get(rid)
                if j is None or not j.has_files:
                    continue
                p = st.ws.runs / j.id / "figures.json"
                figs.append(json.loads(p.read_text(encoding="utf-8")) if p.is_file()
                            else j.figures)
                names.append(f"{j.title} ({j.id})")
            if names:
                df = comparison_frame(names, figs, lang)
                table = {"columns": list(df.columns),
                         "rows": [[_cell(v, lang) for v in row]
                                  for row in df.itertuples(index=False)]}
        return st.render(request, "compare.html", jobs=jobs, chosen=chosen, table=table,
                         nav="compare")

    async def home(request: Request):
        return RedirectResponse("/district", status_code=303)

    async def forbidden(request: Request, exc: Exception):
        return PlainTextResponse(tr("web.forbidden", st.lang(request)), status_code=403)

    async def bad_upload(request: Request, exc: Exception):
        return PlainTextResponse(err_msg(st.lang(request), exc), status_code=400)

    routes = [
        Route("/", home),
        Route("/district", _security_headers(district_page)),
        Route("/district/upload", _security_headers(district_upload), methods=["POST"]),
        Route("/scenario", _security_headers(scenario_page)),
        Route("/scenario", _security_headers(scenario_save), methods=["POST"]),
        Route("/runs", _security_headers(runs_page)),
        Route("/runs", _security_headers(runs_start), methods=["POST"]),
        Route("/runs/{run_id}", _security_headers(run_page)),
        Route("/runs/{run_id}/files/{path:path}", run_file),
        Route("/api/runs/{run_id}", _security_headers(run_api)),
        Route("/zones", _security_headers(zones_index)),
        Route("/zones/{run_id}", _security_headers(zones_page)),
        Route("/api/zones/{run_id}", _security_headers(zones_state)),
        Route("/api/zones/{run_id}/move", _security_headers(zones_move), methods=["POST"]),
        Route("/api/zones/{run_id}/reset", _security_headers(zones_reset), methods=["POST"]),
        Route("/api/zones/{run_id}/save", _security_headers(zones_save), methods=["POST"]),
        Route("/compare", _security_headers(compare_page)),
        Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static"),
    ]
    for name, folder in _vendor_dirs().items():
        routes.append(Mount(f"/vendor/{name}", app=StaticFiles(directory=str(folder)),
                            name=f"vendor-{name}"))
    hosts = list(allowed_hosts) if allowed_hosts else list(LOCAL_HOSTS)
    app = Starlette(routes=routes,
                    middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=hosts)],
                    exception_handlers={Forbidden: forbidden, UploadError: bad_upload})
    app.state.planner = st
    return app


async def _in_thread(fn, *args):
    from starlette.concurrency import run_in_threadpool
    return await run_in_threadpool(fn, *args)


# ----------------------------------------------------------------- page helpers

def _cell(v: Any, lang: str) -> str:
    if isinstance(v, bool):
        return yes_no(v, lang)
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 1 else f"{v:,.2f}".rstrip("0").rstrip(".")
    return "" if v is None else str(v)


def _district_summary(d, lang: str) -> dict:
    """What the District page shows of a loaded district: the counts and the check
    verdict with every failing A indicator and its schools."""
    from planner.indicators.engine import check
    from planner.outputs.checkfiles import b_grade, indicator_name
    rep = check(d)
    s = d.schools
    by_type = s["type"].value_counts().sort_index()
    names = dict(zip(s["school_id"].astype(str), s["name"].astype(str)))
    failing = []
    for ind in rep.a_results:
        if ind.passed:
            continue
        schools = []
        for f in ind.failing_schools[:200]:
            sid = str(f.get("school_id") or "")
            schools.append({"id": sid, "name": names.get(sid, f.get("name", "")),
                            "stage": label("stage", f.get("stage"), lang) if f.get("stage")
                            else "", "value": _cell(f.get("value"), lang),
                            "threshold": _cell(f.get("threshold"), lang)})
        failing.append({"id": ind.id, "name": indicator_name(ind, lang),
                        "no_data": bool(ind.no_data), "schools": schools,
                        "more": max(0, len(ind.failing_schools) - 200)})
    units = d.units
    return {
        "name": d.name, "standard": d.standard,
        "schools": len(s), "by_type": [(label("school_type", k, lang), int(v))
                                       for k, v in by_type.items()],
        "pupils_primary": int(s["students_primary"].sum()),
        "pupils_junior": int(s["students_junior"].sum()),
        "teachers": 0 if d.teachers is None else len(d.teachers),
        "units": 0 if units is None else len(units),
        "children_primary": 0 if units is None else int(units["children_primary"].sum()),
        "children_junior": 0 if units is None else int(units["children_junior"].sum()),
        "roads": d.roads is not None and len(d.roads) > 0,
        "boundary": d.boundary is not None,
        "recognised": bool(rep.recognised), "a_passed": rep.a_passed, "a_total": rep.a_total,
        "a_no_data": rep.a_no_data, "b_score": _cell(rep.b_score, lang),
        "b_grade": b_grade(rep, lang) or "", "failing": failing,
        "veto": [tr("web.district.veto_item", lang, key=v) for v in rep.veto],
    }


def _scenario_raw(st: App, name: str) -> dict:
    from planner.io.yamlsafe import load_yaml
    path = st.ws.scenario_path(name)
    if not path.is_file():
        raise UploadError("no_scenario", name=name)
    raw = load_yaml(path, path.name)
    return dict(raw) if isinstance(raw, dict) else {}


def _scenario_values(st: App, name: str, lang: str) -> tuple[dict, list[dict], list[str]]:
    """The form's values of a saved scenario, its closure rows, and the loader's
    problems with it (shown above the form)."""
    from planner.core.errors import DataError
    from planner.plans.scenario import load_scenario
    path = st.ws.scenario_path(name)
    raw = _scenario_raw(st, name)
    district = str(raw.get("district", "")).rstrip("/").rsplit("/", 1)[-1]
    values = forms.form_values(raw, district)
    values["file"] = name
    problems: list[str] = []
    closures: list[dict] = []
    try:
        scen = load_scenario(path)
    except DataError as e:
        problems = list(e.problems)
        scen = None
    cons = raw.get("consolidation") or {}
    c = cons.get("closures") if isinstance(cons, dict) else None
    if isinstance(c, list):
        closures = [{k: "" if r.get(k) is None else str(r.get(k))
                     for k in ("school_id", "receiving_school_id", "share")}
                    for r in c if isinstance(r, dict)]
    elif isinstance(c, str) and scen is not None and scen.consolidation is not None:
        from planner.plans.consolidation import read_closures
        try:
            d = load_district_cached(st, district)
            closures = [{"school_id": a, "receiving_school_id": b, "share": _share_text(w)}
                        for a, b, w in read_closures(scen.consolidation.closures, d)]
        except (DataError, UploadError) as e:
            problems += getattr(e, "problems", [str(e)])
    return values, closures, problems


def _share_text(w: float) -> str:
    return str(int(w)) if float(w).is_integer() else f"{w:g}"


def load_district_cached(st: App, name: str):
    d, problems = st.district(name)
    if d is None:
        from planner.core.errors import DataError
        raise DataError(problems)
    return d


def _closure_rows(form) -> list[dict]:
    a = form.getlist("closures.school_id")
    b = form.getlist("closures.receiving_school_id")
    c = form.getlist("closures.share")
    rows = []
    for i in range(max(len(a), len(b), len(c))):
        rows.append({"school_id": (a[i] if i < len(a) else "").strip(),
                     "receiving_school_id": (b[i] if i < len(b) else "").strip(),
                     "share": (c[i] if i < len(c) else "").strip()})
    return rows


def _write_scenario(st: App, name: str, data: dict) -> list[str]:
    """Write ``scenarios/<name>.yaml`` when :func:`load_scenario` accepts it; else
    leave any file of that name as it was and return the loader's lines."""
    import yaml

    from planner.core.errors import DataError
    from planner.plans.scenario import load_scenario
    final = st.ws.scenario_path(name)
    tmp = final.with_name(f".{secrets.token_hex(6)}.yaml")
    tmp.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    try:
        load_scenario(tmp)
    except DataError as e:
        tmp.unlink()
        return [p.replace(tmp.name, final.name) for p in e.problems]
    except BaseException:
        tmp.unlink()
        raise
    tmp.replace(final)
    return []


def _scenario_render(request, st: App, name: str, values: dict, closures: list[dict],
                     problems: list[str], status: int = 200, saved: bool = False,
                     file: str = ""):
    districts = st.ws.district_names()
    dname = values.get("district") or (districts[0] if districts else "")
    schools: list[tuple[str, str]] = []
    if dname in districts:
        d, _ = st.district(dname)
        if d is not None:
            schools = list(zip(d.schools["school_id"].astype(str),
                               d.schools["name"].astype(str)))
    rows = list(closures) + [{"school_id": "", "receiving_school_id": "", "share": ""}
                             for _ in range(forms.SPARE_ROWS)]
    return st.render(request, "scenario.html", status, name=name, values=values,
                     closures=rows, problems=problems, saved=saved,
                     districts=districts, schools=schools, sections=forms.sections(),
                     solve=forms.solve_specs(), scenarios=st.ws.scenario_names(),
                     plans=st.ws.plan_names(), file=file or values.get("file", ""),
                     nav="scenario")


def _zone_words(lang: str) -> dict:
    keys = ("move_to", "children", "seats", "km", "unzoned", "own_cell", "saved", "verified",
            "not_verified", "stage_primary", "stage_junior", "moves", "share", "ind21",
            "scenario_saved", "working", "moved", "school_h", "load_h", "contig_h", "size_h",
            "class_h", "feasible", "not_feasible", "changed_inputs", "over_line", "cut_line",
            "unzoned_line", "problems_n")
    return {k: tr(f"web.zones.js.{k}", lang) for k in keys}
