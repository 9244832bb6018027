"""The cryptexlab command line: data validate and data synth."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import hours
from cryptexlab.cli import main


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


def _option(path: list[str], flag: str):
    """The argparse action of ``flag`` in the subcommand ``path`` (e.g. ["data", "synth"], "--kind")."""
    import argparse

    from cryptexlab.cli import build_parser

    parser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return next(a for a in parser._actions if flag in a.option_strings)


def test_choices_and_defaults_are_the_schemas() -> None:
    from typing import get_args

    from cryptexlab.params import (
        CVKind,
        DataConfig,
        FeatureSetName,
        Freq,
        SearchConfig,
        SearchMethod,
        SearchMode,
        SyntheticConfig,
        SyntheticKind,
        available_profiles,
    )

    for path in (["data", "validate"], ["data", "features"]):
        assert _option(path, "--freq").choices == list(get_args(Freq))
        assert _option(path, "--freq").default == DataConfig().freq
    assert _option(["data", "synth"], "--kind").choices == list(get_args(SyntheticKind))
    synth = SyntheticConfig()
    assert [_option(["data", "synth"], f).default for f in ("--kind", "--hours", "--seed")] == \
        [synth.kind, synth.hours, synth.seed]
    features = _option(["data", "features"], "--feature-set")
    assert features.default == DataConfig().feature_set and all(n in features.help for n in get_args(FeatureSetName))
    # a mode runs the profile of its name, so only the modes with a profile are offered (training has none)
    modes = _option(["optimize"], "--mode")
    assert modes.choices == [m for m in [*get_args(SearchMode), "cv", "analyze"] if m in available_profiles()]
    assert "cv" in modes.choices  # the design's cv mode: params/cv.yaml, every trial cross-validated
    assert "analyze" in modes.choices  # the design's analyze mode: params/analyze.yaml, 05_analysis alone
    assert _option(["optimize"], "--cv-kind").choices == list(get_args(CVKind))
    assert "training" not in modes.choices and modes.default == SearchConfig().mode
    assert _option(["optimize"], "--method").choices == [*get_args(SearchMethod), "optuna"]  # optuna: the design's alias


def test_unknown_mode_is_refused_by_argparse(capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["optimize", "--mode", "training"])
    assert exit_.value.code == 2 and "invalid choice: 'training'" in capsys.readouterr().err
