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


def test_features_command_default_data(capsys) -> None:
    assert main(["data", "features", "--feature-set", "CRYPTEX_ENHANCED", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["source"].startswith("synthetic:default")
    assert doc["feature_count"] == len(doc["features"]) >= 68 and doc["warmup_rows"] == 200
    assert doc["rows"] == 8760 - 200


def test_features_command_text(real_hourly, capsys) -> None:
    assert main(["data", "features", str(real_hourly), "--feature-set", "CRYPTEX_BASIC"]) == 0
    out = capsys.readouterr().out
    assert "CRYPTEX_BASIC on" in out and "40,554 (after dropping 1 warm-up rows)" in out and "log_return" in out


def test_features_command_unknown_set(capsys) -> None:
    assert main(["data", "features", "--feature-set", "CRYPTEX_MAGIC"]) == 2
    assert "unknown feature set 'CRYPTEX_MAGIC'; valid names: CRYPTEX_BASIC" in capsys.readouterr().err


def test_features_command_missing_file(tmp_path, capsys) -> None:
    assert main(["data", "features", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_fetch_command_unknown_exchange(tmp_path, capsys) -> None:
    assert main(["data", "fetch", "--exchange", "nosuchexchange", "--out", str(tmp_path / "x.csv")]) == 2
    assert "nosuchexchange" in capsys.readouterr().err


def test_fetch_command_with_a_fake_exchange(tmp_path, capsys, monkeypatch) -> None:
    """The command wires make_exchange -> fetch_candles -> the CSV; the exchange is faked (no network)."""
    import pandas as pd

    import cryptexlab.data.fetch as fetch

    start = pd.Timestamp("2024-01-01", tz="UTC")
    rows = [[int((start + pd.Timedelta(hours=i)).timestamp() * 1000), 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 1.0]
            for i in range(30)]

    class Fake:
        def fetch_ohlcv(self, symbol, timeframe, since=None, limit=None):
            return [r for r in rows if r[0] >= since][: limit or 1000]

    monkeypatch.setattr(fetch, "make_exchange", lambda name: Fake())
    out = tmp_path / "btc.csv"
    assert main(["data", "fetch", "--exchange", "binanceus", "--since", "2024-01-01", "--out", str(out)]) == 0
    assert "wrote 30 bars" in capsys.readouterr().out
    assert main(["data", "validate", str(out), "--json"]) == 0
