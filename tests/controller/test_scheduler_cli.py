"""``rekam controller schedule simulate`` prints the fit, the bound, the baselines, coverage and sensitivity."""

from __future__ import annotations

import pytest

from controller.errors import ControllerError
from rekam.cli import build_parser


def run_rekam(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


def test_simulate_prints_every_section_with_figures(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no controller.toml here: the command's own defaults
    csv = tmp_path / "t.csv"
    csv.write_text("kode,wajib_ktp,terekam\n3372011001,9000,8000\n3372011002,8000,7400\n3372021001,7000,6500\n")
    assert run_rekam(["controller", "schedule", "simulate", "--targets", str(csv), "--stations", "2",
                      "--from", "2013-10-07", "--deadline", "2013-10-31"]) == 0
    out = capsys.readouterr().out
    for section in ("Turnout model", "Fit: each reported fact", "kelurahan served by 25 Oct",
                    "independent bound", "Rotation baselines", "Coverage", "Residue", "Sensitivity",
                    "reach x0.5", "recovery_days x1.5", "office days at 25 a day"):
        assert section in out, section
    assert "HiGHS 1." not in out  # the solver's banner stays off the report
    fit_rows = [line for line in out.splitlines() if line.strip().startswith("kelurahan served by 25 Oct")]
    assert fit_rows and "yes" in fit_rows[0]


def test_simulate_refuses_a_bad_targets_file_naming_the_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    csv = tmp_path / "t.csv"
    csv.write_text("kode,wajib_ktp,terekam\n3372011001,lots,8000\n")
    with pytest.raises(ControllerError, match="line 2"):
        run_rekam(["controller", "schedule", "simulate", "--targets", str(csv)])
