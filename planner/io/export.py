"""Safe, atomic, deterministic file output: the output contract of every command.

Cells
    A text cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab/CR) gets a
    leading apostrophe, so Excel and WPS cannot read it as a formula (CSV
    injection). Numbers are left as numbers.

Single files (:func:`write_text`, :func:`write_csv`, :func:`save_workbook` ...)
    written to a unique hidden temporary file beside the target (``.NAME.<random>.part``)
    and renamed over it when complete; a failure removes the temporary file. A
    target that exists and is not a regular file (a folder, a device, a link, a
    pipe) is never replaced. :func:`check_single_output` is the check a command
    makes before it writes a single-file output (``check --json/--xlsx``): never
    an input of the run (a file of the district, or into its folder).

Output folders (:class:`OutputFolder`, one per ``--out``; see docs/data-format.md
"The output contract")
    - a folder is the toolkit's when it holds the marker ``.planner-output.json``
      (the id of the output and the SHA-256 of every file it wrote); an existing
      ``--out`` that is not empty and has no marker is refused unless ``force``;
    - a lock (``.planner.lock``, an advisory ``flock`` the system releases when
      the process dies) stops a second run writing the same folder;
    - every run writes into its own private staging folder inside ``--out``
      (``.planner-staging-<run id>``); :meth:`OutputFolder.commit` moves the new
      files into place under a journal (``.planner-commit.json``), with SIGINT
      and SIGTERM held, so the folder holds the old complete output or the new
      complete output; a run killed during the commit is rolled forward by the
      next run that takes the lock; stale staging folders are removed then;
    - only the toolkit's own files are replaced: a file the marker does not list
      (a user's thesis, a district kept in the folder), or one changed since the
      toolkit wrote it (unless ``force``), is never replaced or deleted; a new
      file of the same name is refused (:class:`OutputRefused`, exit 2) before
      anything is changed.

Errors are :class:`~planner.core.errors.OutputError`; the contract's own are
:class:`OutputRefused`, which carry a catalogue key (``output.*``) and its fields,
so the command line says them in the chosen language.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import stat
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import pandas as pd

from planner.core.errors import OutputError

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(v: Any) -> Any:
    if isinstance(v, str) and v.startswith(FORMULA_START):
        return "'" + v
    return v


#: characters an XLSX cell cannot hold (the XML 1.0 control characters openpyxl refuses)
XLSX_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_value(v: Any) -> Any:
    """A value a workbook cell can hold: text without the control characters XLSX
    cannot store (a vertical tab in a school's name is dropped from the workbook; the
    CSV files keep the text as it was)."""
    if isinstance(v, str) and XLSX_ILLEGAL.search(v):
        return XLSX_ILLEGAL.sub("", v)
    return v


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(safe_cell)
    out.columns = [safe_cell(str(c)) for c in out.columns]
    return out


# ---------------------------------------------------------------------------
# refusals with catalogue keys
# ---------------------------------------------------------------------------

class OutputRefused(OutputError):
    """An output the contract will not write. ``key`` is its catalogue entry
    (``planner/outputs/catalogue/output.yaml``: the command line says it in the
    chosen language) and ``fields`` the values it names; ``str()`` gives both, for
    library callers."""

    def __init__(self, key: str, **fields: Any):
        self.key = key
        self.fields = {k: str(v) for k, v in fields.items()}
        super().__init__(f"{key}: " + "; ".join(f"{k}={v}" for k, v in self.fields.items()))


def _unwritable(path: Path | str, e: OSError) -> OutputRefused:
    reason = e.strerror or type(e).__name__
    if e.errno is not None and e.errno in (errno.EROFS,):
        reason = os.strerror(errno.EROFS)
    return OutputRefused("output.unwritable", path=path, reason=reason)


# ---------------------------------------------------------------------------
# signals held during a commit or a clean-up
# ---------------------------------------------------------------------------

@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver the first one
    (to the handler that was in place): a commit or a clean-up is never cut in
    half by Ctrl-C or a polite kill. Only the main thread can set handlers; in
    another thread this is a no-op (Python delivers signals to the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    old: dict[int, Any] = {}
    for name in ("SIGINT", "SIGTERM"):
        s = getattr(signal, name, None)
        if s is None:
            continue
        try:
            old[s] = signal.signal(s, lambda signum, frame: held.append(signum))
        except (ValueError, OSError):      # pragma: no cover - not the main interpreter
            pass
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)
        if held:
            s = held[0]
            h = old.get(s)
            if callable(h):
                h(s, None)
            elif h == signal.SIG_DFL:
                os.kill(os.getpid(), s)


# ---------------------------------------------------------------------------
# single files
# ---------------------------------------------------------------------------

def _umask() -> int:
    # the process's umask (read by setting and restoring it), for files made by mkstemp
    m = os.umask(0o022)
    os.umask(m)
    return m


def _refuse_non_regular(path: Path, option: str = "") -> None:
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return
    except OSError as e:
        raise _unwritable(path, e) from None
    if not stat.S_ISREG(st.st_mode):
        raise OutputRefused("output.not_regular", option=option or "", path=path,
                            kind=_kind(st.st_mode))


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISLNK(mode):
        return "link"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device"
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special"


def _atomic(path: str | Path, fill: Callable[[Path], None]) -> Path:
    """Write ``path`` through ``fill(tmp)`` into a unique temporary file beside it,
    then rename it over ``path``; nothing is left behind on failure. A target that
    is not a regular file is refused; a file system error is an
    :class:`OutputRefused` naming the path."""
    path = Path(path)
    _refuse_non_regular(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    except OSError as e:
        raise _unwritable(path, e) from None
    os.close(fd)
    tmp = Path(name)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        fill(tmp)
        _refuse_non_regular(path)        # made meanwhile: still never replaced
        os.replace(tmp, path)
    except OSError as e:
        _unlink_quietly(tmp)
        raise _unwritable(path, e) from None
    except BaseException:
        _unlink_quietly(tmp)
        raise
    return path


def _unlink_quietly(p: Path) -> None:
    try:
        os.unlink(p)
    except OSError:
        pass


def write_csv(df: pd.DataFrame, path: str | Path) -> Path:
    """UTF-8 with BOM (so Excel opens Chinese text correctly), LF line ends."""
    frame = safe_frame(df)
    return _atomic(path, lambda tmp: frame.to_csv(tmp, index=False, encoding="utf-8-sig",
                                                   lineterminator="\n"))


def write_xlsx(sheets: dict[str, pd.DataFrame], path: str | Path) -> Path:
    """One workbook, a sheet per table; text cells written as text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter
    path = Path(path)
    wb = Workbook()
    wb.remove(wb.active)
    for name, df in sheets.items():
        ws = wb.create_sheet(title=str(name)[:31])
        df = safe_frame(df)
        ws.append([xlsx_value(str(c)) for c in df.columns])
        for row in df.itertuples(index=False):
            vals = []
            for v in row:
                if v is None or (isinstance(v, float) and v != v):
                    vals.append(None)
                elif hasattr(v, "item") and not isinstance(v, str):
                    vals.append(v.item())
                else:
                    vals.append(xlsx_value(v))
            ws.append(vals)
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for k, c in enumerate(df.columns, start=1):
            width = max([len(str(c))] + [len(str(v)) for v in df[c].head(200)]) + 2
            ws.column_dimensions[get_column_letter(k)].width = min(40, max(8, width * 1.2))
        ws.freeze_panes = "A2"
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str):
                    cell.data_type = "s"
    return save_workbook(wb, path)


def save_workbook(wb, path: str | Path) -> Path:
    """Save an openpyxl workbook atomically, with fixed zip entry times and document
    dates so the same tables give the same bytes (openpyxl stamps the clock)."""
    import io
    import re
    import zipfile
    buf = io.BytesIO()
    wb.save(buf)
    buf.seek(0)
    with zipfile.ZipFile(buf) as z:
        items = [(i.filename, z.read(i.filename)) for i in z.infolist()]

    def fill(tmp: Path) -> None:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in items:
                if name == "docProps/core.xml":
                    data = re.sub(rb"<dcterms:(created|modified)([^>]*)>[^<]*</dcterms:\1>",
                                  rb"<dcterms:\1\2>2000-01-01T00:00:00Z</dcterms:\1>", data)
                # a fixed date, so the bytes are stable
                info = zipfile.ZipInfo(name, date_time=(2000, 1, 1, 0, 0, 0))  # not-a-rule: date
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
    return _atomic(path, fill)


def write_json(obj: Any, path: str | Path) -> Path:
    path = Path(path)
    text = json.dumps(obj, ensure_ascii=False, indent=2, default=_default) + "\n"
    return write_text(text, path)


def write_text(text: str, path: str | Path) -> Path:
    data = text.encode("utf-8")
    return _atomic(path, lambda tmp: tmp.write_bytes(data))


def _default(o):
    import numpy as np
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    if isinstance(o, Path):
        return o.as_posix()
    if isinstance(o, (set, frozenset, tuple)):
        return sorted(o) if isinstance(o, (set, frozenset)) else list(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def final_path(p: str | Path) -> Path:
    """Where a path inside a staging folder will be once its output is committed (a
    staging folder's files move into the folder that holds it; staging folders nest
    when ``compare`` stages its runs): ``p`` resolved, without its staging parts."""
    parts = Path(p).resolve().parts
    return Path(*[x for x in parts if not x.startswith(STAGING_PREFIX)])


def _input_folders(inputs: Iterable[str | Path | None]) -> list[tuple[Path, Path | None]]:
    """``(folder, file)`` of each input: a folder input is its own folder (file None);
    a file input (a .gpkg district, a scenario, a closures file) is its file, and,
    for a district given as a file, the folder it is in."""
    out = []
    for p in inputs:
        if p is None:
            continue
        r = Path(p).resolve()
        out.append((r, None) if r.is_dir() else (r.parent, r))
    return out


def check_out_dir(out: str | Path, district_path: str | Path | None) -> Path:
    """Create ``out`` and make sure it is not the district's input folder (or inside it)."""
    out = Path(out).resolve()
    _refuse_input_folder(out, [district_path])
    if out.exists() and not out.is_dir():
        raise OutputError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _unwritable(out, e) from None
    return out


def _refuse_input_folder(out: Path, districts: Iterable[str | Path | None]) -> None:
    for folder, _ in _input_folders(districts):
        if out == folder or folder in out.parents:
            raise OutputError(f"--out {out}: refusing to write into the district's input "
                              f"folder {folder}; choose another folder")


def check_single_output(path: str | Path, option: str, district: str | Path | None = None,
                        inputs: Iterable[str | Path | None] = ()) -> Path:
    """The checks of a single-file output (``check --json FILE``) before anything is
    computed: not a file of the run's inputs (the same file by any name, hard links
    included), not inside the district's folder, not an existing folder, device,
    link or pipe; its folder is created. Returns the path."""
    p = Path(path)
    rp = p.resolve()
    for folder, file in _input_folders([district]):
        if file is None and (rp == folder or folder in rp.parents):
            raise OutputRefused("output.in_input_folder", option=option, path=p, folder=folder)
    _refuse_non_regular(p, option)
    if os.path.lexists(p):
        st = os.stat(p)
        for folder, file in _input_folders([district, *inputs]):
            files = [file] if file is not None else [f for f in folder.iterdir() if f.is_file()]
            for f in files:
                try:
                    fs = os.stat(f)
                except OSError:
                    continue
                if (fs.st_dev, fs.st_ino) == (st.st_dev, st.st_ino):
                    raise OutputRefused("output.input_file", option=option, path=p, input=f)
    else:
        for _folder, file in _input_folders(inputs):
            if file is not None and rp == file:
                raise OutputRefused("output.input_file", option=option, path=p, input=file)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise _unwritable(p.parent, e) from None
    return p


# ---------------------------------------------------------------------------
# output folders: marker, lock, staging, commit
# ---------------------------------------------------------------------------

MARKER = ".planner-output.json"
LOCK = ".planner.lock"
JOURNAL = ".planner-commit.json"
STAGING_PREFIX = ".planner-staging-"
TRASH_PREFIX = ".planner-trash-"
#: files whose bytes differ run to run by design (wall-clock times): listed in the
#: marker without a digest, always the toolkit's to replace
VOLATILE = frozenset({"timings.json"})
MARKER_FORMAT = 1


def _is_control(name: str) -> bool:
    return name in (MARKER, LOCK, JOURNAL) or name.startswith((STAGING_PREFIX, TRASH_PREFIX))


def _sha(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):  # not-a-rule: 1 MiB reads
            h.update(block)
    return h.hexdigest()


def _files(root: Path) -> dict[str, Path]:
    """Every entry under ``root`` that is not a folder (files, links, others) by its
    '/'-joined relative path, control entries at the top left out; links are not
    followed."""
    out: dict[str, Path] = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        rel = base.relative_to(root).as_posix()
        top = rel == "."
        if top:
            dirnames[:] = [d for d in dirnames if not _is_control(d)]
        keep = []
        for d in dirnames:
            if (base / d).is_symlink():
                out[_join(rel, d)] = base / d
            else:
                keep.append(d)
        dirnames[:] = sorted(keep)
        for f in filenames:
            if top and _is_control(f):
                continue
            out[_join(rel, f)] = base / f
    return out


def _join(rel: str, name: str) -> str:
    return name if rel == "." else f"{rel}/{name}"


def _digest(path: Path, rel: str) -> str | None:
    """The SHA-256 the marker records for a file (``None`` for a volatile one)."""
    return None if Path(rel).name in VOLATILE else _sha(path)


def _output_id(files: dict[str, str | None]) -> str:
    h = hashlib.sha256()
    for rel in sorted(files):
        h.update(f"{rel}\0{files[rel] or '-'}\n".encode("utf-8"))
    return h.hexdigest()


def read_marker(folder: str | Path) -> dict | None:
    """The marker of a toolkit output folder, or ``None`` when ``folder`` has none
    (or one that is not the toolkit's)."""
    p = Path(folder) / MARKER
    try:
        if not stat.S_ISREG(os.lstat(p).st_mode):
            return None
        data = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    ok = (isinstance(data, dict) and data.get("planner_output") == MARKER_FORMAT
          and isinstance(data.get("files"), dict) and isinstance(data.get("id"), str)
          and data["id"] == _output_id(data["files"]))
    return data if ok else None


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_small_json(path: Path, obj: Any) -> None:
    """A control file, written whole and synced (the journal must survive a crash)."""
    data = (json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode()
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)
    _fsync_dir(path.parent)


class _Lock:
    """An exclusive advisory lock on ``path`` (``flock``; ``msvcrt.locking`` on
    Windows), taken without waiting. The system drops it when the process dies,
    so a lock file left by a killed run is simply taken by the next one; the file
    is removed on release (a run that opened the removed file finds it replaced
    and tries again)."""

    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self, note: str) -> bool:
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
        for _ in range(20):  # not-a-rule: retries when the lock file was replaced
            fd = os.open(self.path, flags, 0o644)
            if not _try_lock(fd):
                os.close(fd)
                return False
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, note.encode("utf-8"))
            self.fd = fd
            return True
        return False

    def release(self) -> None:
        if self.fd is None:
            return
        if os.name != "nt":
            _unlink_quietly(self.path)
        os.close(self.fd)
        self.fd = None


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError as e:
        if e.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        raise


class OutputFolder:
    """One command's output folder under the contract (module docstring).

    ``with OutputFolder(out, "rotate", districts=[district.path]) as of:`` checks and
    locks ``out`` (creating it when missing), cleans what a killed run left and
    makes the run's private staging folder ``of.staging``; the command writes its
    files there and calls :meth:`commit`. Leaving the block without a commit (an
    error, Ctrl-C) removes the staging folder and the lock, and ``out`` itself
    when this run created it and it is empty again: the old output stays as it was.

    ``districts`` are the districts the run reads (folders, or files: then their
    folder): ``out`` may not be one of those folders nor inside one. ``inputs`` are
    the run's other input files (a scenario, a closures file). Inputs kept inside
    ``out`` do not make it a foreign folder and are never replaced.
    ``force`` allows an existing folder that is not empty and not the toolkit's
    (its files are kept), and replacing the toolkit's own files that were changed
    since it wrote them; it never allows replacing a file the toolkit did not write.
    """

    def __init__(self, out: str | Path, command: str,
                 districts: Iterable[str | Path | None] = (),
                 inputs: Iterable[str | Path | None] = (), force: bool = False,
                 option: str = "--out"):
        self.given = Path(out)
        self.path = self.given.resolve()
        self.command = command
        self.districts = [p for p in districts if p is not None]
        self.inputs = self.districts + [p for p in inputs if p is not None]
        self.force = force
        self.option = option
        self.run_id = f"{os.getpid()}-{secrets.token_hex(8)}"
        self.staging = self.path / f"{STAGING_PREFIX}{self.run_id}"
        self.created = False
        self.committed = False
        self._journalled = False
        self.kept: list[str] = []            # files of a user carried into the new output
        self._lock = _Lock(self.path / LOCK)

    # -- opening ------------------------------------------------------------
    def __enter__(self) -> OutputFolder:
        self.open()
        return self

    def open(self) -> OutputFolder:
        _refuse_input_folder(self.path, self.districts)
        for _, file in _input_folders(self.inputs):
            if file is not None and self.path == file:
                raise OutputRefused("output.not_a_folder", option=self.option, path=self.given)
        if os.path.lexists(self.path) and not self.path.is_dir():
            raise OutputRefused("output.not_a_folder", option=self.option, path=self.given)
        try:
            for _ in range(5):  # not-a-rule: retries when another run removed the folder
                try:
                    self.path.mkdir(parents=True)
                    self.created = True
                except FileExistsError:
                    if not self.path.is_dir():
                        raise OutputRefused("output.not_a_folder", option=self.option,
                                            path=self.given) from None
                try:
                    got = self._lock.acquire(f"{self.run_id} {self.command}\n")
                except FileNotFoundError:   # removed by a run that made it and lost it
                    continue
                if not got:
                    raise OutputRefused("output.locked", option=self.option, path=self.given)
                break
            else:
                raise OutputRefused("output.locked", option=self.option, path=self.given)
        except OutputRefused:
            self._remove_if_created()
            raise
        except OSError as e:
            self._remove_if_created()
            raise _unwritable(self.path, e) from None
        except BaseException:
            self._remove_if_created()
            raise
        try:
            with signals_deferred():
                self._recover()
            marker = read_marker(self.path)
            visible = [n for n in os.listdir(self.path)
                       if not _is_control(n) and not self._holds_input(n)]
            if marker is None and visible and not self.force:
                raise OutputRefused("output.foreign", option=self.option, path=self.given,
                                    first=sorted(visible)[0], count=len(visible))
            self.staging.mkdir()
        except OSError as e:
            self.close(False)
            raise _unwritable(self.path, e) from None
        except BaseException:
            self.close(False)
            raise
        return self

    def _holds_input(self, name: str) -> bool:
        """Whether the entry ``name`` of ``out`` is an input of this run or holds one
        (a district and a scenario kept in the folder do not make it foreign; they
        are never replaced, like any file the toolkit did not write)."""
        entry = (self.path / name).resolve()
        for p in self.inputs:
            r = Path(p).resolve()
            if r == entry or entry in r.parents:
                return True
        return False

    def _recover(self) -> None:
        """Finish a commit a killed run left half done (its journal), then remove
        stale staging and trash folders (this run holds the lock: no live run
        owns them)."""
        journal = self.path / JOURNAL
        if journal.exists():
            try:
                plan = json.loads(journal.read_text(encoding="utf-8"))
            except ValueError:
                plan = None
            if isinstance(plan, dict) and {"staging", "trash", "move", "carry", "delete",
                                           "files", "old"} <= set(plan):
                self._apply(plan)
            else:
                journal.unlink()
        for name in os.listdir(self.path):
            p = self.path / name
            if name.startswith((STAGING_PREFIX, TRASH_PREFIX)) and p.is_dir() \
                    and not p.is_symlink():
                if name.startswith(TRASH_PREFIX):   # no journal: nothing says whose
                    os.rename(p, self.path / f"planner-kept-{name[len(TRASH_PREFIX):]}"
                                             f"-{secrets.token_hex(3)}")
                else:
                    shutil.rmtree(p)

    # -- committing -----------------------------------------------------------
    def commit(self) -> Path:
        """Move the staged files into ``out`` as one set (see the module docstring);
        SIGINT and SIGTERM wait until it is done. Raises :class:`OutputRefused`
        before changing anything when a staged file would replace one the toolkit
        did not write."""
        if self.committed:
            raise RuntimeError("output folder already committed")
        with signals_deferred():
            try:
                plan = self._plan()
                _write_small_json(self.path / JOURNAL, plan)
            except OSError as e:
                _unlink_quietly(self.path / JOURNAL)
                raise _unwritable(self.path, e) from None
            self._journalled = True         # from here the staging folder is the journal's
            try:
                self._apply(plan)
            except OSError as e:            # e.g. a full disk: the next run finishes it
                raise _unwritable(self.path, e) from None
            self.committed = True
        return self.path

    def _plan(self) -> dict:
        new_paths = _files(self.staging)
        new = {rel: _digest(p, rel) for rel, p in sorted(new_paths.items())}
        marker = read_marker(self.path) or {"files": {}}
        old: dict[str, str | None] = marker["files"]
        tops = sorted({rel.split("/")[0] for rel in new})
        new_dirs = {"/".join(rel.split("/")[:k]) for rel in new
                    for k in range(1, rel.count("/") + 1)}
        conflicts: list[str] = []       # not the toolkit's: never replaced
        changed: list[str] = []         # the toolkit's, changed since: only with force
        carry: list[str] = []

        def clash(rel: str, p: Path) -> None:
            (changed if rel in old and p.is_file() and not p.is_symlink()
             else conflicts).append(rel)

        for top in tops:
            target = self.path / top
            if not os.path.lexists(target):
                continue
            if target.is_symlink() or not (target.is_dir() or target.is_file()):
                conflicts.append(top)
                continue
            if target.is_file():
                if not self._own(top, target, old):
                    clash(top, target)
                continue
            inside = {f"{top}/{rel}": p for rel, p in _files(target).items()}
            if not inside:
                continue                    # empty folders only: nothing to lose
            if not any(r.startswith(top + "/") for r in old):
                conflicts.append(top + "/")
                continue
            for rel, p in inside.items():
                # force replaces a changed own file, never deletes one it does not rewrite
                if self._own(rel, p, old, force=self.force and rel in new):
                    continue
                if rel in new or rel in new_dirs or any(
                        "/".join(rel.split("/")[:k]) in new
                        for k in range(1, rel.count("/") + 1)):
                    clash(rel, p)
                else:
                    carry.append(rel)
        for key, found in (("output.collision", conflicts), ("output.changed", changed)):
            if found:
                raise OutputRefused(key, option=self.option, path=self.given,
                                    files=", ".join(found[:5]) + (" …" if len(found) > 5 else ""))
        delete = [rel for rel in sorted(old) if rel.split("/")[0] not in tops
                  and os.path.lexists(self.path / rel)
                  and self._own(rel, self.path / rel, old, force=False)]
        trash = f"{TRASH_PREFIX}{self.run_id}"
        return {"staging": self.staging.name, "trash": trash, "move": tops, "carry": carry,
                "delete": delete, "files": new, "old": old, "force": self.force,
                "command": self.command, "run_id": self.run_id}

    def _own(self, rel: str, p: Path, old: dict, force: bool | None = None) -> bool:
        """A file the marker lists, unchanged since (or ``force``): the toolkit's to
        replace or delete."""
        if rel not in old or p.is_symlink() or not p.is_file():
            return False
        if old[rel] is None or (self.force if force is None else force):
            return True
        try:
            return _sha(p) == old[rel]
        except OSError:
            return False

    def _apply(self, plan: dict) -> None:
        """Carry out a commit plan; every step can be repeated (a run killed during
        the commit is finished by the next one)."""
        root = self.path
        staging, trash = root / plan["staging"], root / plan["trash"]
        trash.mkdir(exist_ok=True)
        for top in plan["move"]:
            src, dst = staging / top, root / top
            if not os.path.lexists(src):
                continue                      # moved already
            if os.path.lexists(dst):
                parked = trash / top
                if os.path.lexists(parked):
                    parked = trash / f"{top}.{secrets.token_hex(4)}"
                os.rename(dst, parked)
            os.rename(src, dst)
        kept = []
        for rel in plan["carry"]:
            src, dst = trash / rel, root / rel
            if os.path.lexists(src) and not os.path.lexists(dst):
                dst.parent.mkdir(parents=True, exist_ok=True)
                os.rename(src, dst)
                kept.append(rel)
        for rel in plan["delete"]:
            p, want = root / rel, plan["old"].get(rel)
            if p.is_file() and not p.is_symlink() and (want is None or _sha(p) == want):
                p.unlink()
                _prune_empty(p.parent, root)
        files = plan["files"]
        _write_small_json(root / MARKER, {
            "planner_output": MARKER_FORMAT, "command": plan["command"],
            "id": _output_id(files), "files": files})
        self._purge_trash(trash, plan["old"], bool(plan.get("force")),
                          keep_as=f"planner-kept-{plan['run_id']}")
        if staging.exists():
            shutil.rmtree(staging)
        (root / JOURNAL).unlink()           # last: until here a restart repeats the steps
        _fsync_dir(root)
        self.kept = kept + self.kept

    def _purge_trash(self, trash: Path, old: dict, force: bool, keep_as: str) -> None:
        """Delete the toolkit's own files (listed in ``old``, unchanged unless
        ``force``) from a trash folder. Anything else, a file a user put into an old
        output that could not be carried over, is never deleted: the trash folder is
        then renamed to the visible ``keep_as``."""
        self.kept = []
        for rel, p in _files(trash).items():
            if rel in old and p.is_file() and not p.is_symlink() and (
                    old[rel] is None or force or _sha(p) == old[rel]):
                p.unlink()
        for dirpath, _dirs, _names in os.walk(trash, topdown=False):
            if not os.listdir(dirpath):
                os.rmdir(dirpath)
        if os.path.lexists(trash):
            os.rename(trash, self.path / keep_as)
            self.kept.append(keep_as + "/")

    # -- closing --------------------------------------------------------------
    def __exit__(self, et, e, tb) -> bool:
        with signals_deferred():
            self.close(et is None)
        if isinstance(e, OSError) and not isinstance(e, OutputRefused):
            name = getattr(e, "filename", None)
            if name and Path(str(name)).resolve().is_relative_to(self.path):
                raise _unwritable(self.given, e) from e
        return False

    def close(self, ok: bool = True) -> None:
        """Remove the staging folder and the lock (and ``out`` when this run made it
        and it is empty); the commit, if any, is already complete."""
        try:
            if os.path.lexists(self.staging) and not (self._journalled and not self.committed):
                shutil.rmtree(self.staging, ignore_errors=True)
        finally:
            self._lock.release()
            if not self.committed:
                self._remove_if_created()

    def _remove_if_created(self) -> None:
        if self.created:
            try:
                self.path.rmdir()
            except OSError:
                pass


def _prune_empty(folder: Path, root: Path) -> None:
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


@contextlib.contextmanager
def output_folder(out: str | Path, command: str, districts: Iterable[str | Path | None] = (),
                  inputs: Iterable[str | Path | None] = (), force: bool = False,
                  option: str = "--out") -> Iterator[OutputFolder]:
    """``with output_folder(...) as of:`` — an :class:`OutputFolder` that is opened,
    and closed (cleaned) however the block ends; call ``of.commit()`` inside."""
    of = OutputFolder(out, command, districts, inputs, force, option)
    with of:
        yield of


def mask_id_number(v: Any) -> str:
    """Mask an identity number: keep the first 3 and last 2 characters
    (``430603********12``)."""
    s = "" if v is None else str(v).strip()
    if len(s) <= 5:
        return "*" * len(s)
    return s[:3] + "*" * (len(s) - 5) + s[-2:]
