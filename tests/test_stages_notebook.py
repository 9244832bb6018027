"""The notebooks' shared set-up: a notebook's settings validated from its parameters."""

from __future__ import annotations

import pytest

from cryptexlab.errors import ParamsError
from cryptexlab.params import CVConfig, CVNotebook, DataNotebook, SearchConfig, VerdictNotebook
from cryptexlab.stages.notebook import notebook_settings


def test_settings_read_the_schemas_fields_from_the_namespace() -> None:
    namespace = {"candles_shown": 48, "acf_lags": 12, "data": {"path": None}, "metrics_path": None, "pd": object()}
    assert notebook_settings(DataNotebook, namespace) == DataNotebook(candles_shown=48, acf_lags=12)


def test_nested_sections_are_validated_from_dicts() -> None:
    values = {name: field.get_default(call_default_factory=True) for name, field in CVNotebook.model_fields.items()}
    section = notebook_settings(CVNotebook, {**values, "cv": {"kind": "purged", "n_splits": 3}})
    assert section.cv == CVConfig(kind="purged", n_splits=3)


def test_keywords_alone_or_over_the_namespace() -> None:
    assert notebook_settings(DataNotebook, candles_shown=48, acf_lags=12).acf_lags == 12
    assert notebook_settings(DataNotebook, {"candles_shown": 48, "acf_lags": 12}, acf_lags=5).acf_lags == 5


def test_a_missing_parameter_is_named() -> None:
    with pytest.raises(ParamsError) as err:
        notebook_settings(DataNotebook, {"candles_shown": 48})
    assert str(err.value) == ("01_data: parameter 'acf_lags' is missing; the parameters cell must define "
                              "acf_lags, candles_shown")


def test_several_missing_parameters_are_named() -> None:
    with pytest.raises(ParamsError, match=r"^01_data: parameters 'candles_shown', 'acf_lags' are missing; "):
        notebook_settings(DataNotebook, {})


def test_an_unknown_keyword_is_named() -> None:
    with pytest.raises(ParamsError) as err:
        notebook_settings(DataNotebook, candles_shown=48, acf_lags=12, acf_lag=3)
    assert str(err.value) == "01_data: unknown parameter(s) 'acf_lag'; DataNotebook takes acf_lags, candles_shown"


def test_an_invalid_value_names_the_parameter_and_the_rule() -> None:
    with pytest.raises(ParamsError) as err:
        notebook_settings(DataNotebook, candles_shown=1, acf_lags=12)
    assert str(err.value) == ("01_data: parameter candles_shown = 1 is invalid: "
                              "Input should be greater than or equal to 24")
    values = {name: field.get_default(call_default_factory=True) for name, field in VerdictNotebook.model_fields.items()}
    with pytest.raises(ParamsError, match=r"^06_verdict: parameter baselines\.0 = 'arima' is invalid: Input should be"):
        notebook_settings(VerdictNotebook, {**values, "baselines": ["arima"]})
    with pytest.raises(ParamsError, match=r"^02_search: unknown key 'ray\.workers'$"):
        notebook_settings(SearchConfig, {**{n: f.get_default(call_default_factory=True)
                                            for n, f in SearchConfig.model_fields.items()}, "ray": {"workers": 2}})
