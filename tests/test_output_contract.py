"""The output contract (planner/io/export.py), the same for every command: a command
writes only files it owns, never over a user's file or an input of the run, each
output appears as a set, a killed run leaves the old output and its leftovers are
cleaned up safely. Issue 12 items 1-4, 8, 11; defects are named in each test."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import write_tiny

from planner.cli import main
from planner.io import export
from planner.io.export import (
    JOURNAL,
    LOCK,
    MARKER,
    STAGING_PREFIX,
    OutputFolder,
    OutputRefused,
    output_folder,
    read_marker,
)

ROOT = Path(__file__).resolve().parents[1]
CLOSURES = "school_id,receiving_school_id,share\nS4,S1,1\n"


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (hidden ones included) with its bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def visible(folder: Path) -> dict[str, bytes]:
    """The files of an output a planner sees: no marker, no wall-clock timings."""
    return {k: v for k, v in tree(folder).items()
            if k != MARKER and not k.endswith("timings.json") and not k.endswith("/" + MARKER)}


def scenario(root: Path, district: Path, name: str = "s.yaml", extra: str = "") -> Path:
    (root / "closures.csv").write_text(CLOSURES, encoding="utf-8")
    p = root / name
    p.write_text(textwrap.dedent(f"""\
        schema: 1
        name: 合同测试
        district: {os.path.relpath(district, root)}
        time_limit: 10
        consolidation:
          mode: plan
          closures: closures.csv
        """) + extra, encoding="utf-8")
    return p


@pytest.fixture
def tiny(tmp_path):
    return write_tiny(tmp_path / "tiny")


def rotate(tiny: Path, out: Path, *extra: str) -> int:
    return main(["rotate", str(tiny), "--out", str(out), "--lang", "en", *extra])


# ---------------------------------------------------------------------------
# folders: the marker, a user's files, --force
# ---------------------------------------------------------------------------

def test_a_new_output_has_a_marker_listing_its_files(tiny, tmp_path):
    out = tmp_path / "r"
    assert rotate(tiny, out) == 3                       # the tiny roster cannot rotate
    m = read_marker(out)
    assert m["command"] == "rotate"
    assert set(m["files"]) == {"rotation.csv", "rotation.xlsx", "summary.json", "timings.json"}
    assert m["files"]["timings.json"] is None           # wall-clock: no digest
    assert all(len(v) == 64 for k, v in m["files"].items() if k != "timings.json")
    assert not [p for p in out.iterdir() if p.name.startswith((".planner-", ".r"))
                and p.name != MARKER]                   # no staging, lock or journal left
    first = tree(out)
    assert rotate(tiny, out) == 3                       # a rerun replaces its own files
    again = tree(out)
    assert {k: v for k, v in first.items() if k != "timings.json"} == \
        {k: v for k, v in again.items() if k != "timings.json"}


def test_a_folder_with_a_users_files_is_refused_unless_force(tiny, tmp_path, capsys):
    """Item 1: a folder with thesis.docx and an empty scenario.json was wiped by run;
    item 4: rotate overwrote a user's own summary.json / rotation.csv."""
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"my thesis")
    (out / "scenario.json").write_text("", encoding="utf-8")
    before = tree(out)
    scen = scenario(tmp_path, tiny)
    assert main(["run", str(scen), "--out", str(out), "--quiet", "--lang", "en"]) == 2
    err = capsys.readouterr().err
    assert "holds 2 entries planner did not write" in err and "--force" in err
    assert tree(out) == before
    # --force writes beside a user's files but never replaces one (scenario.json)
    assert main(["run", str(scen), "--out", str(out), "--quiet", "--force", "--lang", "en"]) == 2
    assert "scenario.json was not written by planner" in capsys.readouterr().err
    assert tree(out) == before
    (out / "scenario.json").unlink()
    (out / "summary.json").write_text('{"mine": 1}', encoding="utf-8")
    assert rotate(tiny, out) == 2
    assert rotate(tiny, out, "--force") == 2            # summary.json is the user's
    assert "summary.json was not written by planner" in capsys.readouterr().err
    (out / "summary.json").unlink()
    assert rotate(tiny, out, "--force") == 3
    assert (out / "thesis.docx").read_bytes() == b"my thesis"
    assert (out / "rotation.csv").exists() and read_marker(out)["command"] == "rotate"


def test_a_users_files_in_a_toolkit_folder_survive_the_next_run(tiny, tmp_path):
    """Item 1: files a user added to an earlier run folder were deleted; a district
    and scenario kept inside the run folder were deleted after being read."""
    out = tmp_path / "run"
    inside = write_tiny(out / "district")               # the district kept inside --out
    scen = scenario(out, inside)                        # and the scenario and closures
    assert main(["run", str(scen), "--out", str(out), "--quiet"]) == 0
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    (out / "consolidation" / "comments.txt").write_text("mine too", encoding="utf-8")
    inputs = {k: v for k, v in tree(out).items()
              if k.startswith("district/") or k in ("s.yaml", "closures.csv")}
    assert main(["run", str(scen), "--out", str(out), "--quiet"]) == 0
    t = tree(out)
    assert t["notes.txt"] == b"mine" and t["consolidation/comments.txt"] == b"mine too"
    assert all(t[k] == v for k, v in inputs.items())
    assert (out / "consolidation" / "routes.csv").exists()
    assert "consolidation/comments.txt" not in read_marker(out)["files"]


def test_a_changed_own_file_is_replaced_only_with_force(tiny, tmp_path, capsys):
    out = tmp_path / "r"
    assert rotate(tiny, out) == 3
    (out / "rotation.csv").write_text("edited by the bureau", encoding="utf-8")
    assert rotate(tiny, out) == 2
    assert "rotation.csv was written by planner but changed since" in capsys.readouterr().err
    assert (out / "rotation.csv").read_text(encoding="utf-8") == "edited by the bureau"
    assert rotate(tiny, out, "--force") == 3
    assert (out / "rotation.csv").read_text(encoding="utf-8-sig").startswith("teacher_id")


def test_catchments_into_another_district_is_refused(tiny, tmp_path, capsys):
    """Item 4: catchments --out OTHER_DISTRICT overwrote its units.csv."""
    other = write_tiny(tmp_path / "other")
    before = tree(other)
    assert main(["catchments", str(tiny), "--out", str(other), "--lang", "en"]) == 2
    assert main(["catchments", str(tiny), "--out", str(other), "--force", "--lang", "en"]) == 2
    assert "units.csv was not written by planner" in capsys.readouterr().err
    assert tree(other) == before
    assert main(["info", str(other)]) == 0


def test_compare_never_replaces_a_users_comparison(tiny, tmp_path, capsys):
    """Item 4: compare overwrote a user's comparison.csv."""
    out = tmp_path / "cmp"
    out.mkdir()
    (out / "comparison.csv").write_text("mine", encoding="utf-8")
    scen = [str(scenario(tmp_path, tiny))]
    assert main(["compare", *scen, "--out", str(out), "--quiet"]) == 2
    assert main(["compare", *scen, "--out", str(out), "--quiet", "--force"]) == 2
    assert "comparison.csv" in capsys.readouterr().err
    assert tree(out) == {"comparison.csv": b"mine"}


def test_compare_whose_second_scenario_fails_leaves_nothing(tiny, tmp_path, capsys):
    """Item 11: a compare whose second scenario fails left its first folder."""
    good = scenario(tmp_path, tiny, "a.yaml")
    no_roster = write_tiny(tmp_path / "noroster", teachers=None)
    bad = scenario(tmp_path, no_roster, "b.yaml", "rotation:\n  share: 0.1\n")
    out = tmp_path / "cmp"
    assert main(["compare", str(good), str(bad), "--out", str(out), "--quiet",
                 "--lang", "en"]) == 2
    assert "teachers.csv" in capsys.readouterr().err
    assert not out.exists()
    # an earlier complete comparison is left as it was
    assert main(["compare", str(good), "--out", str(out), "--quiet"]) == 0
    before = tree(out)
    assert main(["compare", str(good), str(bad), "--out", str(out), "--quiet"]) == 2
    assert tree(out) == before


def test_an_output_set_replaces_the_old_set_whole(tmp_path):
    """The old output's own files that the new one does not write are removed; a
    user's file inside an old output folder is carried over."""
    out = tmp_path / "o"
    with output_folder(out, "t") as of:
        (of.staging / "a").mkdir()
        (of.staging / "a" / "x.csv").write_text("1", encoding="utf-8")
        (of.staging / "b.json").write_text("1", encoding="utf-8")
        of.commit()
    (out / "a" / "user.txt").write_text("u", encoding="utf-8")
    with output_folder(out, "t") as of:
        (of.staging / "a").mkdir()
        (of.staging / "a" / "y.csv").write_text("2", encoding="utf-8")
        of.commit()
    assert visible(out) == {"a/y.csv": b"2", "a/user.txt": b"u"}
    assert sorted(read_marker(out)["files"]) == ["a/y.csv"]


def test_out_is_not_an_input_nor_a_file(tiny, tmp_path, capsys):
    assert rotate(tiny, tiny / "sub") == 2
    assert "refusing to write into the district's input folder" in capsys.readouterr().err
    (tmp_path / "f").write_text("x", encoding="utf-8")
    assert rotate(tiny, tmp_path / "f") == 2
    assert "exists and is not a folder" in capsys.readouterr().err
    assert (tmp_path / "f").read_text(encoding="utf-8") == "x"


def test_messages_follow_the_language(tiny, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.docx").write_bytes(b"x")
    assert main(["rotate", str(tiny), "--out", str(out)]) == 2
    zh = capsys.readouterr().err
    assert "文件夹已存在" in zh and "thesis.docx" in zh
    assert main(["rotate", str(tiny), "--out", str(out), "--lang", "en"]) == 2
    assert "the folder exists" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# single files: check --json / --xlsx
# ---------------------------------------------------------------------------

def test_check_never_replaces_an_input(tiny, tmp_path, capsys):
    """Item 2: check --json hd/schools.csv turned schools.csv into JSON, --xlsx
    hd/district.yaml into a zip."""
    before = tree(tiny)
    for opt, target in (("--json", tiny / "schools.csv"), ("--xlsx", tiny / "district.yaml"),
                        ("--json", tiny / "new.json")):
        assert main(["check", str(tiny), opt, str(target), "--lang", "en"]) == 2
        assert "input folder" in capsys.readouterr().err
    link = tmp_path / "elsewhere.csv"               # the same file by another name
    os.link(tiny / "schools.csv", link)
    assert main(["check", str(tiny), "--json", str(link), "--lang", "en"]) == 2
    assert "is an input of this run" in capsys.readouterr().err
    assert tree(tiny) == before


def test_check_never_replaces_a_folder_device_or_link(tiny, tmp_path, capsys):
    """Item 2: --json <folder> exited 1 and left a stray .NAME.part; --json on a
    device replaced the device node."""
    folder = tmp_path / "afolder"
    folder.mkdir()
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "target.json")
    for target, kind in ((folder, "folder"), (Path("/dev/null"), "device"), (fifo, "pipe"),
                         (link, "link")):
        assert main(["check", str(tiny), "--json", str(target), "--lang", "en"]) == 2
        err = capsys.readouterr().err
        assert f"is not a regular file (a {kind})" in err, err
    assert stat.S_ISCHR(os.lstat("/dev/null").st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afolder", "link.json", "pipe", "tiny"]
    assert list(folder.iterdir()) == []
    assert main(["check", str(tiny), "--json", str(tmp_path / "a" / "b.json")]) == 0
    assert json.loads((tmp_path / "a" / "b.json").read_text(encoding="utf-8"))["a_total"] == 26


def test_single_file_failure_leaves_no_part_file(tmp_path, monkeypatch):
    target = tmp_path / "t.json"
    target.write_text("old", encoding="utf-8")

    def full(tmp):
        Path(tmp).write_bytes(b"half")
        raise OSError(28, "No space left on device")
    with pytest.raises(OutputRefused) as e:
        export._atomic(target, full)
    assert e.value.key == "output.unwritable" and "No space left" in str(e.value)
    assert target.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.json"]


# ---------------------------------------------------------------------------
# read-only file systems (item 13: unwritable --out / --json exited 1)
# ---------------------------------------------------------------------------

@pytest.fixture
def readonly(tmp_path):
    """A read-only tmpfs when this process may mount one, else skip."""
    ro = tmp_path / "ro"
    ro.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k",
                                            "tmpfs", str(ro)], capture_output=True).returncode:
        pytest.skip("cannot mount a read-only file system here")
    try:
        yield ro
    finally:
        subprocess.run(["umount", str(ro)], capture_output=True)


def test_read_only_file_system_is_exit_2(tiny, readonly, capsys):
    assert main(["check", str(tiny), "--json", str(readonly / "r.json"), "--lang", "en"]) == 2
    assert main(["check", str(tiny), "--xlsx", str(readonly / "d" / "r.xlsx"),
                 "--lang", "en"]) == 2
    assert rotate(tiny, readonly / "out") == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3 and all("Read-only file system" in x for x in err), err


def test_unwritable_paths_are_exit_2(tiny, tmp_path, monkeypatch, capsys):
    """The same without a mount: the file system refuses every new file."""
    def refuse(*a, **k):
        raise OSError(30, "Read-only file system", str(a[0]) if a else "")
    monkeypatch.setattr(export.tempfile, "mkstemp", refuse)
    assert main(["check", str(tiny), "--json", str(tmp_path / "r.json"), "--lang", "en"]) == 2
    assert "r.json: cannot be written (Read-only file system)" in capsys.readouterr().err
    monkeypatch.undo()
    real_mkdir = Path.mkdir

    def no_mkdir(self, *a, **k):
        if self.name == "out":
            raise OSError(30, "Read-only file system", str(self))
        return real_mkdir(self, *a, **k)
    monkeypatch.setattr(Path, "mkdir", no_mkdir)
    assert rotate(tiny, tmp_path / "out") == 2
    assert "cannot be written (Read-only file system)" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# staging, stale leftovers, a kill during the commit
# ---------------------------------------------------------------------------

def test_every_run_has_its_own_staging_folder(tmp_path):
    """Item 8: concurrent runs shared one staging folder (.NAME.partial)."""
    a = OutputFolder(tmp_path / "a", "t")
    b = OutputFolder(tmp_path / "a", "t")
    assert a.staging != b.staging and a.staging.parent == tmp_path / "a"
    assert a.staging.name.startswith(STAGING_PREFIX) and "partial" not in a.staging.name


def test_a_stale_staging_folder_is_removed_never_reused(tmp_path):
    """Item 8: after SIGTERM the stale staging folder was reused by the next run."""
    out = tmp_path / "o"
    with output_folder(out, "t") as of:
        (of.staging / "x.csv").write_text("1", encoding="utf-8")
        of.commit()
    stale = out / f"{STAGING_PREFIX}4242-dead"
    stale.mkdir()
    (stale / "y.csv").write_text("from the killed run", encoding="utf-8")
    (out / LOCK).write_text("4242 t\n", encoding="utf-8")      # its lock file, not held
    with output_folder(out, "t") as of:
        assert not stale.exists()
        (of.staging / "z.csv").write_text("2", encoding="utf-8")
        of.commit()
    assert visible(out) == {"z.csv": b"2"}
    assert not (out / LOCK).exists()


KILL_DURING_COMMIT = textwrap.dedent("""\
    import os, signal, sys
    from pathlib import Path
    from planner.io import export
    out, k = Path(sys.argv[1]), int(sys.argv[2])
    calls = [0]
    real = os.rename
    def rename(a, b):
        calls[0] += 1
        if calls[0] > k:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(a, b)
    with export.output_folder(out, "t") as of:
        (of.staging / "a").mkdir()
        for name in ("a/1.csv", "a/2.csv", "b.json", "c.html"):
            (of.staging / name).write_text("new " + name, encoding="utf-8")
        export.os.rename = rename
        of.commit()
    print("committed", calls[0])
    """)


@pytest.mark.parametrize("k", range(0, 9))
def test_a_kill_during_the_commit_is_rolled_forward(tmp_path, k):
    """SIGKILL after k renames of the commit (no clean-up runs): the next run that
    takes the lock finishes that commit first; the user's file survives."""
    out = tmp_path / "o"
    with output_folder(out, "t") as of:
        (of.staging / "a").mkdir()
        for name in ("a/1.csv", "b.json", "old.txt"):
            (of.staging / name).write_text("old " + name, encoding="utf-8")
        of.commit()
    (out / "a" / "mine.txt").write_text("user", encoding="utf-8")
    old = visible(out)
    p = subprocess.run([sys.executable, "-c", KILL_DURING_COMMIT, str(out), str(k)],
                       capture_output=True, text=True, cwd=ROOT)
    new = {"a/1.csv": b"new a/1.csv", "a/2.csv": b"new a/2.csv", "b.json": b"new b.json",
           "c.html": b"new c.html", "a/mine.txt": b"user"}
    if p.returncode == 0:
        assert visible(out) == new
        return
    assert p.returncode == -9
    journal = (out / JOURNAL).exists()
    assert journal or visible(out) == old               # old, or a journal to finish
    with output_folder(out, "t"):                       # the next run recovers
        pass
    assert visible(out) == (new if journal else old)
    assert not [x for x in out.iterdir() if x.name.startswith(".planner-")
                and x.name != MARKER]
    assert read_marker(out) is not None


def test_a_failure_during_the_commit_is_finished_by_the_next_run(tmp_path, monkeypatch):
    """A full disk (or any error) in the middle of the moves: the journal and the
    staging folder stay, and the next run completes the new output first."""
    out = tmp_path / "o"
    with output_folder(out, "t") as of:
        for name in ("a.csv", "b.csv"):
            (of.staging / name).write_text("old", encoding="utf-8")
        of.commit()
    real, calls = os.rename, []

    def rename(a, b):
        calls.append(a)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real(a, b)
    with pytest.raises(OutputRefused, match="No space left"):
        with output_folder(out, "t") as of:
            for name in ("a.csv", "b.csv", "c.csv"):
                (of.staging / name).write_text("new", encoding="utf-8")
            monkeypatch.setattr(export.os, "rename", rename)
            of.commit()
    monkeypatch.undo()
    assert (out / JOURNAL).exists()
    with output_folder(out, "t"):
        pass
    assert visible(out) == {"a.csv": b"new", "b.csv": b"new", "c.csv": b"new"}
    assert not [x for x in out.iterdir() if x.name.startswith(".planner-") and x.name != MARKER]


def test_remediate_follows_the_contract(tmp_path, capsys):
    """remediate (merged from issue 13) wrote into any folder: a user's file beside
    its files is now refused, and its files appear as one set with the marker."""
    user = tmp_path / "mine"
    user.mkdir()
    (user / "thesis.docx").write_bytes(b"words")
    assert main(["remediate", "--out", str(user)]) == 2
    assert "thesis.docx" in capsys.readouterr().err
    assert tree(user) == {"thesis.docx": b"words"}
    out = tmp_path / "rem"
    assert main(["remediate", "--out", str(out)]) == 3      # the bundled district: 2 posts short
    marker = read_marker(out)
    assert marker is not None and "remediation.csv" in marker["files"]
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["solve_seconds"] is None
    assert "solve_seconds" in json.loads((out / "timings.json").read_text(encoding="utf-8"))


def test_compare_records_each_district_relative_to_the_final_folder(tiny, tmp_path, capsys):
    """A run's staging folder is inside its --out (compare's runs nest one more):
    scenario.json's district path is relative to where the files end up, so
    verify finds the district."""
    good = scenario(tmp_path, tiny, "a.yaml")
    out = tmp_path / "cmp"
    assert main(["compare", str(good), "--out", str(out), "--quiet"]) == 0
    meta = json.loads((out / "01_a" / "scenario.json").read_text(encoding="utf-8"))
    assert (out / "01_a" / meta["paths"]["district"]).resolve() == tiny.resolve()
    assert (out / "01_a" / meta["paths"]["closures"]).resolve() == (tmp_path / "closures.csv")
    assert main(["verify", str(out / "01_a")]) == 0
