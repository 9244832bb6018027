"""The ``data`` section: which candles, which features, which periods, which windows."""

from __future__ import annotations

from typing import Literal, get_args

from pydantic import Field, field_validator, model_validator

from cryptexlab.params._base import Section
from cryptexlab.paths import resolve

#: The bar steps a file may declare, be resampled to, or be summarised at.
Freq = Literal["1h", "4h", "1d"]
#: The embedded synthetic series (cryptexlab.data.synthetic): the default and its known-answer variants.
SyntheticKind = Literal["default", "martingale", "planted", "planted_exog", "noise_exog"]


class SyntheticConfig(Section):
    """The embedded default series, used when ``data.path`` is null."""

    kind: SyntheticKind = "default"
    hours: int = Field(8760, ge=500, le=500_000, description="length of the series in hours")
    seed: int = Field(7, ge=0, description="random seed; the same seed gives the same series")
    phi: float | None = Field(None, ge=-0.9, le=0.9, description="AR(1) coefficient of the hourly returns (the "
                              "planted signal's strength); null = the kind's own (planted: 0.10)")
    exog_r2: float | None = Field(None, ge=0, lt=1, description="planted_exog: share of the next return's variance "
                                  "the exogenous series explains; null = 0.10")

    @model_validator(mode="after")
    def _exog_only_where_planted(self) -> SyntheticConfig:
        if self.exog_r2 is not None and self.kind != "planted_exog":
            raise ValueError(f"exog_r2={self.exog_r2} only applies to kind planted_exog, not {self.kind!r}; "
                             "remove it or set kind: planted_exog")
        return self


class SplitConfig(Section):
    """Chronological train/validation/test periods: shares of the rows, or two dates.

    With ``train_end`` and ``val_end`` (ISO dates, UTC, exclusive) the periods are cut by time
    and the shares must be left out. ``gap`` rows between consecutive periods belong to none;
    null means ``pred_len`` (the least that keeps every target inside its own period).
    """

    train: float = Field(0.7, gt=0, lt=1)
    val: float = Field(0.15, gt=0, lt=1)
    test: float = Field(0.15, gt=0, lt=1)
    train_end: str | None = Field(None, description="first bar after the training period")
    val_end: str | None = Field(None, description="first bar after the validation period")
    gap: int | None = Field(None, ge=0, description="rows left out between periods; null = pred_len")

    @model_validator(mode="after")
    def _sums_to_one(self) -> SplitConfig:
        dates = (self.train_end, self.val_end)
        if any(d is not None for d in dates):
            if None in dates:
                raise ValueError("give both train_end and val_end, or neither")
            # a share at its default is what a dump of this config carries back (notebooks re-validate
            # their dict parameters), so only a share set to another value is a contradiction
            shares = {k for k in {"train", "val", "test"} & self.model_fields_set
                      if getattr(self, k) != type(self).model_fields[k].default}
            if shares:
                raise ValueError(f"split by dates ignores shares, so leave out {sorted(shares)}")
            import pandas as pd  # here, not at the top: the command line reads these schemas, pandas costs ~1 s

            try:
                a, b = (pd.Timestamp(d, tz="UTC") for d in dates)
            except ValueError as exc:
                raise ValueError(f"train_end/val_end must be ISO dates: {exc}") from None
            if not a < b:
                raise ValueError(f"train_end {self.train_end} must be before val_end {self.val_end}")
            return self
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(
                f"train + val + test must sum to 1 but got {self.train} + {self.val} + "
                f"{self.test} = {total:g}"
            )
        return self


#: The feature sets of cryptexlab.data.features (its FEATURE_SETS are these names).
FeatureSetName = Literal[
    "CRYPTEX_BASIC", "CRYPTEX_ENHANCED", "CRYPTEX_EXTERNAL", "CRYPTEX_MULTISCALE", "CRYPTEX_REGIME_AWARE"
]
#: The families of CRYPTEX_ENHANCED's columns (cryptexlab.data.indicators' FeatureSpec.family, and calendar).
FeatureFamily = Literal["trend", "momentum", "volatility", "volume", "candle", "calendar"]
FEATURE_FAMILIES: tuple[str, ...] = get_args(FeatureFamily)


class ExternalConfig(Section):
    """An external CSV series for CRYPTEX_EXTERNAL (see cryptexlab.data.external)."""

    path: str
    lag_hours: float = Field(1.0, ge=0, description="publication delay before a value is visible")
    columns: list[str] | None = None
    prefix: str = ""


class WindowConfig(Section):
    """Training windows: input length, horizon, target and channel handling."""

    seq_len: int = Field(96, ge=2, le=4096)
    pred_len: int = Field(24, ge=1, le=1024)
    target: str = "close"
    target_kind: Literal["price", "log_return"] = "price"
    mode: Literal["channel_independent", "multivariate"] = "multivariate"
    features: list[str] | None = Field(None, description="input columns; null = every feature")


class DataConfig(Section):
    """Which candles to use, which features, how to split them by time and cut windows.

    ``columns`` and ``skip_rows`` read vendor layouts as they are (see cryptexlab.data.candles).
    """

    path: str | None = Field(
        None, description="Cryptex-format CSV (relative to the repo root); null = synthetic"
    )
    freq: Freq = Field("1h", description="declared step of the file")
    repair: bool = Field(False, description="reindex missing bars and fill them as no-trade")
    resample: Freq | None = Field(None, description="aggregate to a coarser step after loading")
    columns: dict[str, str] = Field(
        default_factory=dict,
        description="file header of each loader column that differs, e.g. {timestamp: unix, volume: Volume BTC}",
    )
    skip_rows: int = Field(0, ge=0, le=1000, description="banner lines before the header (1 for CryptoDataDownload)")
    synthetic: SyntheticConfig = SyntheticConfig()
    split: SplitConfig = SplitConfig()
    feature_set: FeatureSetName = "CRYPTEX_BASIC"
    feature_families: list[FeatureFamily] | None = Field(
        None, description="CRYPTEX_ENHANCED only: the column families to keep besides the basic columns; null = all"
    )
    external: list[ExternalConfig] = Field(default_factory=list)
    timeframes: list[Freq] = Field(default_factory=lambda: list[Freq](["1h", "4h", "1d"]), min_length=1)
    n_regimes: int = Field(3, ge=2, le=8)
    windows: WindowConfig = WindowConfig()

    @model_validator(mode="after")
    def _external_needs_its_set(self) -> DataConfig:
        if self.external and self.feature_set != "CRYPTEX_EXTERNAL":
            raise ValueError(
                f"external series are only used by CRYPTEX_EXTERNAL, but feature_set is {self.feature_set}; "
                "set data.feature_set: CRYPTEX_EXTERNAL or remove data.external"
            )
        return self

    @model_validator(mode="after")
    def _families_need_enhanced(self) -> DataConfig:
        if self.feature_families is not None and self.feature_set != "CRYPTEX_ENHANCED":
            raise ValueError(
                f"feature_families={self.feature_families} selects columns of CRYPTEX_ENHANCED, but feature_set is "
                f"{self.feature_set}; set data.feature_set: CRYPTEX_ENHANCED or feature_families: null"
            )
        return self

    @field_validator("path")
    @classmethod
    def _path_exists(cls, value: str | None) -> str | None:
        if value is not None and not resolve(value).is_file():
            raise ValueError(
                f"no file at {resolve(value)}; give a Cryptex CSV path (absolute or relative "
                "to the repository root), or null for the embedded synthetic series"
            )
        return value

    @field_validator("columns")
    @classmethod
    def _known_columns(cls, value: dict[str, str]) -> dict[str, str]:
        names = ("timestamp", "open", "high", "low", "close", "volume")  # the loader's REQUIRED_COLUMNS
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise ValueError(
                f"unknown column name(s) {', '.join(unknown)}; the keys of data.columns are the loader's "
                f"names {', '.join(names)}, the values the headers of the file"
            )
        empty = sorted(k for k, v in value.items() if not v.strip())
        if empty:
            raise ValueError(f"empty header name for {', '.join(empty)}; give the file's column name")
        return value
