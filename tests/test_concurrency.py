"""Two runs into one --out (issue 12 item 8): a lock stops the second (exit 2, one
line), the folder ends with exactly one complete output, never a mix; and the
contract's rules hold for any sequence of runs and of a user's own edits
(property-based)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import write_tiny
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from planner.cli import main
from planner.io.export import MARKER, OutputRefused, output_folder, read_marker

PLANNER = str(Path(sys.executable).with_name("planner"))
CLOSURES = "school_id,receiving_school_id,share\nS4,S1,1\n"


def cfg(n: int):
    return settings(max_examples=n, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow,
                                           HealthCheck.function_scoped_fixture])


def visible(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()
            and p.name not in (MARKER, "timings.json")}


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()
                  if p.name.startswith(".planner") and p.name != MARKER)


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    root = tmp_path_factory.mktemp("concurrency")
    # issue 16: without teachers.csv (the tiny roster's teachers hold the places of
    # indicators 1-3 below the children) the tiny district zones
    write_tiny(root / "tiny", teachers=None)
    (root / "closures.csv").write_text(CLOSURES, encoding="utf-8")
    base = ("schema: 1\nname: 并发测试\ndistrict: tiny\ntime_limit: 10\n"
            "consolidation:\n  mode: plan\n  closures: closures.csv\n")
    (root / "a.yaml").write_text(base, encoding="utf-8")
    (root / "b.yaml").write_text(base + "catchments:\n  stages: [primary]\n", encoding="utf-8")
    outs = {}
    for k in "ab":
        assert main(["run", str(root / f"{k}.yaml"), "--out", str(root / f"ref-{k}"),
                     "--quiet", "--lang", "en"]) == 0
        outs[k] = visible(root / f"ref-{k}")
    return root, outs


def test_a_locked_folder_is_refused_with_one_line(two, capsys):
    root, outs = two
    out = root / "locked"
    with output_folder(out, "run") as of:            # another run holds the folder
        (of.staging / "x.txt").write_text("theirs", encoding="utf-8")
        assert main(["run", str(root / "a.yaml"), "--out", str(out), "--quiet",
                     "--lang", "en"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "another planner run is writing this folder" in err[0]
        of.commit()
    assert visible(out) == {"x.txt": b"theirs"}
    assert main(["run", str(root / "a.yaml"), "--out", str(out), "--quiet", "--lang", "en"]) == 0
    assert visible(out) == outs["a"]


@pytest.mark.parametrize("delay", [0.0, 0.8])
def test_two_processes_into_one_out(two, delay):
    """Two ``planner run`` processes into one --out, the second started ``delay``
    seconds after the first: each exits 0 or, when the other holds the folder, 2
    with one line; the folder holds exactly one of the two complete outputs."""
    root, outs = two
    out = root / f"both-{delay}"
    procs = []
    for k in "ab":
        procs.append(subprocess.Popen([PLANNER, "run", str(root / f"{k}.yaml"), "--out",
                                       str(out), "--quiet", "--lang", "en"],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        time.sleep(delay)
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    codes = [rc for rc, _ in results]
    assert set(codes) <= {0, 2} and 0 in codes, results
    for rc, err in results:
        if rc == 2:
            assert err.strip().splitlines() == [
                f"error: --out {out}: another planner run is writing this folder; wait for "
                f"it to finish or choose another folder"], err
    assert visible(out) in (outs["a"], outs["b"])
    if codes == [0, 2]:
        assert visible(out) == outs["a"]
    if codes == [2, 0]:
        assert visible(out) == outs["b"]
    assert not leftovers(out)


@cfg(25)
@given(sets=st.lists(st.dictionaries(st.sampled_from(["a.csv", "b.json", "d/c.csv", "d/e.txt"]),
                                     st.binary(min_size=1, max_size=8), min_size=1),
                     min_size=2, max_size=4),
       pause=st.floats(0, 0.02))
def test_threads_racing_for_one_folder(tmp_path_factory, sets, pause):
    """Threads write file sets into one folder at once: each commits or is refused
    by the lock; the folder ends with exactly the set committed last."""
    out = tmp_path_factory.mktemp("race") / "o"
    done: list[int] = []
    refused: list[int] = []
    errors: list[BaseException] = []
    order = threading.Lock()

    def worker(i: int, files: dict[str, bytes]) -> None:
        try:
            with output_folder(out, "t") as of:
                for rel, data in files.items():
                    p = of.staging / rel
                    p.parent.mkdir(parents=True, exist_ok=True)
                    p.write_bytes(data)
                    time.sleep(pause)
                with order:
                    of.commit()
                    done.append(i)
        except OutputRefused as e:
            assert e.key == "output.locked", e
            refused.append(i)
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)
    threads = [threading.Thread(target=worker, args=(i, s)) for i, s in enumerate(sets)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(done + refused) == list(range(len(sets))) and done
    assert visible(out) == sets[done[-1]]
    assert sorted(read_marker(out)["files"]) == sorted(sets[done[-1]])
    assert not leftovers(out)


# ---------------------------------------------------------------------------
# the contract's rules under any sequence of runs and user edits
# ---------------------------------------------------------------------------

NAMES = ["a.csv", "b.json", "d/c.csv", "d/e.txt", "notes.docx", "d/mine.txt"]
OPS = st.one_of(
    st.tuples(st.just("run"), st.dictionaries(st.sampled_from(NAMES[:4]),
                                              st.binary(min_size=1, max_size=4), min_size=1),
              st.booleans()),
    st.tuples(st.just("user_adds"), st.sampled_from(NAMES), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("user_edits"), st.sampled_from(NAMES), st.binary(min_size=1, max_size=4)),
    st.tuples(st.just("user_deletes"), st.sampled_from(NAMES), st.none()),
)


def expected_run(disk: dict[str, bytes], dirs: set[str], marker: dict[str, bytes],
                 files: dict[str, bytes], force: bool) -> dict[str, bytes] | None:
    """The contract's rules (docs/data-format.md "The output contract") as a model:
    the folder after a run that writes ``files``, or ``None`` when it is refused.
    ``disk``: the files there; ``dirs``: its top-level folders; ``marker``: what the
    toolkit wrote last."""
    def own(p: str, forced: bool) -> bool:
        return p in marker and (forced or disk.get(p) == marker[p])
    tops = {p.split("/")[0] for p in files}
    for top in tops:
        inside = [p for p in disk if p.startswith(top + "/")]
        if top in disk and not own(top, force):
            return None                               # a user's file where a new one goes
        if top in dirs and inside and not any(m.startswith(top + "/") for m in marker):
            return None                               # a user's folder of that name
        for p in inside:
            if not own(p, force and p in files) and (p in files):
                return None                           # would replace a user's file
    after = {}
    for p, data in disk.items():
        top = p.split("/")[0]
        if top in tops:
            if not own(p, force and p in files) and p not in files:
                after[p] = data                       # a user's file, carried over
        elif not own(p, False):
            after[p] = data                           # untouched, or a user's now
    after.update(files)
    return after


@cfg(80)
@given(ops=st.lists(OPS, min_size=1, max_size=8))
def test_the_rules_hold_for_any_sequence(tmp_path_factory, ops):
    """Any sequence of runs (file sets, with or without --force) and of a user's own
    edits: each run's outcome is the one the contract's rules give (``expected_run``)
    and a refused run changes nothing; no staging folder or lock is left."""
    out = tmp_path_factory.mktemp("rules") / "o"
    marker: dict[str, bytes] = {}
    for op, name, arg in ops:
        disk = visible(out) if out.exists() else {}
        dirs = {p.name for p in out.iterdir() if p.is_dir() and p.name[0] != "."} \
            if out.exists() else set()
        if op == "run":
            files, force = name, arg
            want = expected_run(disk, dirs, marker, files, force)
            try:
                with output_folder(out, "t", force=force) as of:
                    for rel, data in files.items():
                        p = of.staging / rel
                        p.parent.mkdir(parents=True, exist_ok=True)
                        p.write_bytes(data)
                    of.commit()
            except OutputRefused as e:
                assert want is None, (e, disk, marker, files, force)
                assert (visible(out) if out.exists() else {}) == disk
                continue
            assert want is not None, (disk, marker, files, force)
            assert visible(out) == want, (disk, marker, files, force)
            marker = dict(files)
            assert sorted(read_marker(out)["files"]) == sorted(files)
        elif not out.exists():
            continue
        elif op == "user_adds":
            p = out / name
            if os.path.lexists(p) or "/" in name and (out / name.split("/")[0]).is_file():
                continue
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_bytes(arg)
        elif op == "user_edits":
            if (out / name).is_file():
                (out / name).write_bytes(arg + b"!")
        elif (out / name).is_file():
            (out / name).unlink()
        if out.exists():
            assert not leftovers(out)
