"""The command line: exit codes and one-line errors, through main(argv)."""

from planner.cli import main


def test_info_prints_summary(tiny_dir, capsys):
    assert main(["info", str(tiny_dir), "--lang", "en"]) == 0
    out = capsys.readouterr().out
    assert "Schools: 4" in out and "Primary pupils: 806" in out and "Teachers: 8" in out


def test_bad_input_exit_2_without_traceback(tiny_dir, capsys):
    text = (tiny_dir / "teachers.csv").read_text(encoding="utf-8")
    text = text.replace("T08,吴八,S4", "T08,吴八,Y099")
    (tiny_dir / "teachers.csv").write_text(text, encoding="utf-8")
    assert main(["info", str(tiny_dir)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ('error: teachers.csv row 9, column school_id: "Y099" is not a '
                           'school in schools.csv')
    assert "Traceback" not in err


def test_missing_district(tmp_path, capsys):
    assert main(["info", str(tmp_path / "none")]) == 2
    assert "no such file or folder" in capsys.readouterr().err
