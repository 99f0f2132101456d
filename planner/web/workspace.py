"""The workspace of ``planner serve``: one folder that holds everything the app writes.

::

    WORKSPACE/
      districts/<name>/      district folders (picked, uploaded, or the bundled Yunxi copy)
      scenarios/<name>.yaml  scenario files written by the Scenario page (planner run reads them)
      catchments/<name>.csv  catchment files saved by the Zones page (catchments: {plan: FILE})
      runs/<id>/             one run folder per run (planner run's files), never reused
      .web/                  the app's own state: run records, unpacking area

Names of districts, scenarios, plans and runs are one path part of letters, digits,
``_`` and ``-`` (Chinese letters included), at most 64 characters: a name can never
be a path. Every path the app opens is resolved and must lie inside the workspace.

Uploads (:func:`unpack_zip`, :func:`unpack_workbook`) are limited in size (the
request, each member, the unpacked total, the number of members) and unpacked only
inside the workspace: a zip member with an absolute path, a drive letter, a
backslash or a ``..`` part, a symbolic link or any other special file refuses the
whole upload before anything is written; members of other types than a district's
files are skipped. The upload is unpacked into a fresh folder under ``.web/`` and
renamed into place only when complete. Problems are :class:`UploadError` with a
catalogue code (``web.upload.<code>``) and its values; the app says them in words.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

#: bytes in a MB (sizes in messages), and the chunk read at a time
MB = 1024 * 1024
#: largest upload request, bytes
MAX_UPLOAD_BYTES = 64 * MB
#: largest unpacked district (all members together), bytes
MAX_UNPACKED_BYTES = 512 * MB
#: most members of an uploaded zip
MAX_MEMBERS = 2048
#: the file types of a district folder unpacked from a zip (others are skipped)
DISTRICT_SUFFIXES = (".yaml", ".yml", ".csv", ".xlsx", ".geojson", ".json", ".gpkg", ".md",
                     ".txt")
#: sheets of an uploaded workbook, by table (the loader's names, English or Chinese)
WORKBOOK_TABLES = {"schools": ("schools", "学校"), "teachers": ("teachers", "教师"),
                   "units": ("units", "单元", "居住单元")}
#: the sheet of district.yaml's facts in an uploaded workbook (key, value rows)
DISTRICT_SHEETS = ("district", "区县", "区县信息")

#: longest name of a district, scenario, plan or run
MAX_NAME = 64
_NAME = re.compile(r"^[\w\-]{1,64}$")
_BUNDLED_FILES = ("district.yaml", "schools.csv", "teachers.csv", "units.csv",
                  "boundary.geojson", "roads.geojson", "enrolment_history.csv", "births.csv")


class UploadError(Exception):
    """A refused upload or name: ``code`` is the catalogue key ``web.upload.<code>``,
    ``values`` its fields; nothing was written."""

    def __init__(self, code: str, **values: Any):
        self.code = code
        self.values = values
        super().__init__(f"{code}: {values}")


def check_name(name: str) -> str:
    """``name`` when it is a valid workspace name (see the module docstring)."""
    name = (name or "").strip()
    if not _NAME.match(name):
        raise UploadError("bad_name", name=name[:64])
    return name


def slug(text: str) -> str:
    """A valid name made from a text (other characters become ``-``)."""
    s = re.sub(r"[^\w\-]+", "-", text or "", flags=re.UNICODE).strip("-_")[:64]
    return s or "scenario"


@dataclass
class Workspace:
    """The folders of a workspace (created by :meth:`init`)."""

    root: Path
    districts: Path = field(init=False)
    scenarios: Path = field(init=False)
    plans: Path = field(init=False)
    runs: Path = field(init=False)
    state: Path = field(init=False)

    def __post_init__(self):
        self.root = Path(self.root).resolve()
        self.districts = self.root / "districts"
        self.scenarios = self.root / "scenarios"
        self.plans = self.root / "catchments"
        self.runs = self.root / "runs"
        self.state = self.root / ".web"

    def init(self, seed: bool = True) -> Workspace:
        """Create the folders; on a new workspace (no district yet) copy the bundled
        Yunxi district and its demo scenario in, so the app starts on them."""
        for p in (self.districts, self.scenarios, self.plans, self.runs, self.state / "jobs",
                  self.state / "tmp"):
            p.mkdir(parents=True, exist_ok=True)
        if seed and not self.district_names():
            self._seed()
        return self

    def _seed(self) -> None:
        import yaml

        from planner.io.load import bundled_district
        from planner.plans.scenario import find_demo_scenario, load_scenario
        src = bundled_district()
        dst = self.districts / "yunxi"
        tmp = self._fresh_dir()
        for name in _BUNDLED_FILES:
            if (src / name).is_file():
                shutil.copyfile(src / name, tmp / name)
        tmp.rename(dst)
        try:
            demo = load_scenario(find_demo_scenario())
        except Exception:  # no scenarios folder beside an installed package: no demo
            return
        raw = dict(demo.raw)
        raw["district"] = "../districts/yunxi"
        cons = demo.consolidation
        if cons is not None and isinstance(cons.closures, Path):
            shutil.copyfile(cons.closures, self.scenarios / cons.closures.name)
            raw["consolidation"] = {**raw["consolidation"], "closures": cons.closures.name}
        text = yaml.safe_dump(raw, allow_unicode=True, sort_keys=False)
        (self.scenarios / f"{demo.path.stem}.yaml").write_text(text, encoding="utf-8")

    # ---------------------------------------------------------------- names

    def _names(self, folder: Path, pattern: str, stem: bool = True) -> list[str]:
        if not folder.is_dir():
            return []
        out = []
        for p in folder.glob(pattern):
            name = p.stem if stem else p.name
            if _NAME.match(name) and not p.is_symlink():
                out.append(name)
        return sorted(out)

    def district_names(self) -> list[str]:
        return [n for n in self._names(self.districts, "*", stem=False)
                if (self.districts / n / "district.yaml").is_file()]

    def scenario_names(self) -> list[str]:
        return self._names(self.scenarios, "*.yaml")

    def plan_names(self) -> list[str]:
        return self._names(self.plans, "*.csv")

    def run_ids(self) -> list[str]:
        return [n for n in self._names(self.runs, "*", stem=False) if (self.runs / n).is_dir()]

    def inside(self, p: Path) -> Path:
        """``p`` resolved; an error unless it lies inside the workspace."""
        r = Path(p).resolve()
        if r != self.root and self.root not in r.parents:
            raise UploadError("outside", name=Path(p).name)
        return r

    def district_path(self, name: str) -> Path:
        return self.inside(self.districts / check_name(name))

    def scenario_path(self, name: str) -> Path:
        return self.inside(self.scenarios / f"{check_name(name)}.yaml")

    def plan_path(self, name: str) -> Path:
        return self.inside(self.plans / f"{check_name(name)}.csv")

    def run_path(self, run_id: str) -> Path:
        return self.inside(self.runs / check_name(run_id))

    def _fresh_dir(self) -> Path:
        p = self.state / "tmp" / secrets.token_hex(8)
        p.mkdir(parents=True)
        return p

    def new_run_id(self, scenario: str) -> str:
        """A run folder of its own, created now (``<scenario>-NNN``): two runs of one
        scenario never share a folder, also when started at the same moment."""
        base = slug(scenario)[:MAX_NAME - 8]
        n = 1 + max((int(m.group(1)) for x in self.run_ids()
                     if (m := re.fullmatch(re.escape(base) + r"-(\d{3,})", x))), default=0)
        while True:
            rid = f"{base}-{n:03d}"
            try:
                (self.runs / rid).mkdir()
                return rid
            except FileExistsError:
                n += 1

    # -------------------------------------------------------------- uploads

    def install(self, tmp: Path, name: str, replace: bool = False) -> Path:
        """Move an unpacked district folder ``tmp`` to ``districts/<name>``."""
        dst = self.district_path(name)
        if dst.exists():
            if not replace:
                shutil.rmtree(tmp, ignore_errors=True)
                raise UploadError("exists", name=name)
            old = self._fresh_dir()
            dst.rename(old / "old")
            tmp.rename(dst)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(dst)
        return dst


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member may not be unpacked (a catalogue code), else ``None``."""
    name = info.filename
    mode = (info.external_attr >> 16) & 0xFFFF
    if stat.S_ISLNK(mode):
        return "zip_link"
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):   # 0: no Unix mode given
        return "zip_special"
    if "\\" in name or "\x00" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "zip_absolute"
    parts = PurePosixPath(name).parts
    if any(p in ("..", ".") for p in parts) or not parts:
        return "zip_dotdot"
    if info.flag_bits & 0x1:
        return "zip_encrypted"
    return None


def unpack_zip(ws: Workspace, data_path: Path) -> tuple[Path, list[str]]:
    """Unpack an uploaded zip of a district folder into a fresh folder of the
    workspace; return it and the members skipped (not a district file type).

    Every member is checked before anything is written (see the module docstring);
    a zip whose members all sit in one top folder is unpacked from inside it."""
    try:
        zf = zipfile.ZipFile(data_path)
    except (zipfile.BadZipFile, OSError):
        raise UploadError("not_zip") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise UploadError("zip_members", n=len(infos), limit=MAX_MEMBERS)
        for info in infos:
            code = _member_problem(info)
            if code:
                raise UploadError(code, member=info.filename[:120])
        files = [i for i in infos if not i.is_dir()]
        total = sum(i.file_size for i in files)
        if total > MAX_UNPACKED_BYTES:
            raise UploadError("too_big_unpacked", mb=total // MB,
                              limit=MAX_UNPACKED_BYTES // MB)
        tops = {PurePosixPath(i.filename).parts[0] for i in files}
        strip = (len(tops) == 1 and all(len(PurePosixPath(i.filename).parts) > 1 for i in files))
        tmp = ws._fresh_dir()
        skipped: list[str] = []
        written = 0
        try:
            for info in files:
                parts = PurePosixPath(info.filename).parts[1 if strip else 0:]
                if any(p.startswith(".") for p in parts) or \
                        PurePosixPath(*parts).suffix.lower() not in DISTRICT_SUFFIXES:
                    skipped.append(info.filename)
                    continue
                target = tmp.joinpath(*parts)
                if tmp not in target.resolve().parents:
                    raise UploadError("zip_dotdot", member=info.filename[:120])
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(target, "xb") as out:
                    while chunk := src.read(MB):
                        written += len(chunk)
                        if written > MAX_UNPACKED_BYTES:
                            raise UploadError("too_big_unpacked", mb=written // MB,
                                              limit=MAX_UNPACKED_BYTES // MB)
                        out.write(chunk)
        except zipfile.BadZipFile:
            shutil.rmtree(tmp, ignore_errors=True)
            raise UploadError("not_zip") from None
        except FileExistsError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise UploadError("zip_duplicate") from None
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    if not (tmp / "district.yaml").is_file():
        shutil.rmtree(tmp, ignore_errors=True)
        raise UploadError("no_district_yaml")
    return tmp, skipped


def _district_sheet(ws_sheet, label: str) -> dict:
    """district.yaml's content from a sheet of ``key, value`` rows (dotted keys:
    ``name``, ``standard``, ``settings.school_rule``, ``county.teacher_pay_avg_yuan``,
    ``b_scores.8`` = ``3, 2, 3, 2``, ``veto.exam_admission``); a value reads as YAML
    reads a scalar (``true``, ``98000``)."""
    import yaml
    out: dict[str, Any] = {}
    for i, row in enumerate(ws_sheet.iter_rows(values_only=True), start=1):
        if not row or row[0] is None or str(row[0]).strip() == "":
            continue
        key = str(row[0]).strip()
        if i == 1 and key.lower() in ("key", "键", "项目"):
            continue
        value = row[1] if len(row) > 1 else None
        if isinstance(value, str):
            try:
                value = yaml.safe_load(value) if value.strip() else None
            except yaml.YAMLError:
                pass
        parts = key.split(".")
        if parts[0] == "b_scores" and len(parts) == 2:
            text = str(value if value is not None else "")
            nums = [x for x in re.split(r"[,\s，、;；]+", text) if x]
            try:
                value = [float(x) if "." in x else int(x) for x in nums]
            except ValueError:
                raise UploadError("bad_district_sheet", row=i, key=key) from None
            out.setdefault("b_scores", {})[int(parts[1]) if parts[1].isdigit() else parts[1]] \
                = value
            continue
        d = out
        for p in parts[:-1]:
            nxt = d.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise UploadError("bad_district_sheet", row=i, key=key)
            d = nxt
        d[parts[-1]] = value
    return out


def unpack_workbook(ws: Workspace, data_path: Path, name: str) -> tuple[Path, list[str]]:
    """A district folder from one XLSX workbook with a sheet per table: ``schools``
    (学校, required), ``teachers`` (教师), ``units`` (单元), and ``district`` (区县:
    the facts of district.yaml as ``key, value`` rows; without it district.yaml holds
    only the name). Each table's file is the workbook itself (``schools.xlsx`` ...),
    so the loader reads its sheet as it reads any workbook (formulas, hidden sheets,
    true extent); returns the folder and the sheets not used."""
    import openpyxl
    import yaml
    try:
        zf = zipfile.ZipFile(data_path)
        with zf:
            names = set(zf.namelist())
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, OSError):
        raise UploadError("not_xlsx") from None
    if "xl/workbook.xml" not in names:
        raise UploadError("not_xlsx")
    if total > MAX_UNPACKED_BYTES:
        raise UploadError("too_big_unpacked", mb=total // MB, limit=MAX_UNPACKED_BYTES // MB)
    try:
        wb = openpyxl.load_workbook(data_path, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged workbook
        raise UploadError("not_xlsx") from None
    try:
        visible = {w.title.strip().lower(): w for w in wb.worksheets
                   if getattr(w, "sheet_state", "visible") == "visible"}
        found = {t: next((visible[s] for s in sheets if s in visible), None)
                 for t, sheets in WORKBOOK_TABLES.items()}
        if found["schools"] is None:
            raise UploadError("no_schools_sheet", sheets="、".join(sorted(visible)) or "-")
        dsheet = next((visible[s] for s in DISTRICT_SHEETS if s in visible), None)
        meta = _district_sheet(dsheet, data_path.name) if dsheet is not None else {}
        used = {w.title.strip().lower() for w in found.values() if w is not None}
        if dsheet is not None:
            used.add(dsheet.title.strip().lower())
        unused = sorted(set(visible) - used)
    finally:
        wb.close()
    meta.setdefault("name", name)
    tmp = ws._fresh_dir()
    try:
        for table, sheet in found.items():
            if sheet is not None:
                shutil.copyfile(data_path, tmp / f"{table}.xlsx")
        (tmp / "district.yaml").write_text(yaml.safe_dump(meta, allow_unicode=True,
                                                          sort_keys=False), encoding="utf-8")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return tmp, unused


def remove_tree(p: Path) -> None:
    """Remove a folder of the app's own (never follows links)."""
    if p.is_symlink():
        p.unlink()
    elif p.exists():
        shutil.rmtree(p, ignore_errors=True)


def safe_file(folder: Path, rel: str) -> Path:
    """``folder/rel`` for a download: inside ``folder``, a regular file, no hidden
    part, no link."""
    parts = PurePosixPath(rel).parts
    if not parts or any(p in ("..", ".") or p.startswith(".") or "\\" in p for p in parts):
        raise UploadError("outside", name=rel[:64])
    p = folder.joinpath(*parts)
    r = p.resolve()
    if folder.resolve() not in r.parents or p.is_symlink() or not r.is_file():
        raise UploadError("outside", name=rel[:64])
    return r


def listing(folder: Path) -> list[tuple[str, int]]:
    """``(relative path, bytes)`` of every file of a run folder, hidden ones left out."""
    out = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for f in sorted(filenames):
            if f.startswith("."):
                continue
            p = Path(dirpath) / f
            if p.is_symlink():
                continue
            out.append((p.relative_to(folder).as_posix(), p.stat().st_size))
    return out
