"""The cryptexlab command line: data validate and data synth."""

from __future__ import annotations

import json
import subprocess
import sys

from cryptexlab.cli import main
from conftest import hours


def test_validate_real_file_json(real_hourly, capsys) -> None:
    assert main(["data", "validate", str(real_hourly), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["rows"] == 40_555 and doc["no_trade_bars"] == 77


def test_validate_text_summary(real_hourly, capsys) -> None:
    assert main(["data", "validate", str(real_hourly)]) == 0
    out = capsys.readouterr().out
    assert "valid" in out and "40,555" in out and "no-trade bars   77 (longest run 28" in out


def test_validate_bad_file_exits_nonzero_with_message(write_csv, capsys) -> None:
    t = hours(3)
    path = write_csv(f"{t[0]},1,1,1,1,1\n{t[0]},1,1,1,1,1")
    assert main(["data", "validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "duplicates line 2" in err and "Traceback" not in err


def test_validate_repair(write_csv, capsys) -> None:
    t = hours(4)
    path = write_csv(f"{t[0]},1,1,1,1,1\n{t[3]},1,1,1,1,1")
    assert main(["data", "validate", str(path)]) == 2
    assert main(["data", "validate", str(path), "--repair", "--json"]) == 0
    out = capsys.readouterr().out
    assert json.loads(out[out.index("{"):])["repaired_bars"] == 2


def test_synth_writes_cryptex_csv(tmp_path, capsys) -> None:
    out = tmp_path / "synth.csv"
    assert main(["data", "synth", "--kind", "martingale", "--hours", "600", "--seed", "3", "--out", str(out)]) == 0
    assert "wrote 600 synthetic martingale bars" in capsys.readouterr().out
    assert main(["data", "validate", str(out), "--json"]) == 0


def test_console_script_installed() -> None:
    proc = subprocess.run([sys.executable, "-m", "cryptexlab.cli", "data", "synth", "--kind", "nope", "--out", "x"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "invalid choice: 'nope'" in proc.stderr
