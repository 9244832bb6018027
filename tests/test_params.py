"""Profiles: the committed ones validate; every documented error names key, value, rule, file."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from conftest import public_names
from cryptexlab.errors import ParamsError
from cryptexlab.params import NOTEBOOK_SECTIONS, DataConfig, DataNotebook, available_profiles
from cryptexlab.paths import PARAMS_DIR
from cryptexlab.profiles import load_profile


@pytest.mark.parametrize("name", available_profiles())
def test_committed_profiles_validate(name: str) -> None:
    profile = load_profile(name)
    assert profile.notebooks
    assert set(profile.notebooks) <= set(NOTEBOOK_SECTIONS)


def test_quick_and_smoke_exist() -> None:
    assert {"quick", "smoke"} <= set(available_profiles())


def test_notebook_gets_only_its_section_and_data() -> None:
    profile = load_profile("smoke")
    params = profile.notebook_parameters("01_data")
    assert set(params) == {"data", *DataNotebook.model_fields}
    assert params["data"] == profile.data.model_dump()


def _profile(tmp_path, text: str):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


def test_unknown_key_names_key_file_and_allowed_keys(tmp_path) -> None:
    path = _profile(tmp_path, "notebooks: [01_data]\ndata:\n  pth: x.csv\n")
    with pytest.raises(ParamsError) as err:
        load_profile(path)
    msg = str(err.value)
    assert "unknown key 'data.pth'" in msg
    assert str(path) in msg
    for key in ("path", "freq", "repair", "resample", "synthetic", "split"):
        assert key in msg


def test_unknown_top_level_key(tmp_path) -> None:
    path = _profile(tmp_path, "notebooks: [01_data]\nbudget: 3\n")
    with pytest.raises(ParamsError, match=r"unknown key 'budget'\. Allowed keys: description, study, notebooks, data, model, train, 01_data"):
        load_profile(path)


def test_wrong_type_names_key_value_and_rule(tmp_path) -> None:
    path = _profile(tmp_path, "notebooks: [01_data]\n01_data:\n  acf_lags: many\n")
    with pytest.raises(ParamsError, match=r"01_data\.acf_lags = 'many' is invalid: Input should be a valid integer"):
        load_profile(path)


def test_out_of_range_names_rule(tmp_path) -> None:
    path = _profile(tmp_path, "notebooks: [01_data]\ndata:\n  synthetic: {hours: 10}\n")
    with pytest.raises(ParamsError, match=r"data\.synthetic\.hours = 10 is invalid: Input should be greater than or equal to 500"):
        load_profile(path)


def test_split_must_sum_to_one(tmp_path) -> None:
    path = _profile(tmp_path, "notebooks: [01_data]\ndata:\n  split: {train: 0.8, val: 0.15, test: 0.15}\n")
    with pytest.raises(ParamsError, match=r"train \+ val \+ test must sum to 1 but got 0.8 \+ 0.15 \+ 0.15 = 1.1"):
        load_profile(path)


def test_literal_choices_listed(tmp_path) -> None:
    path = _profile(tmp_path, "notebooks: [01_data]\ndata: {freq: 2h}\n")
    with pytest.raises(ParamsError, match=r"data\.freq = '2h' is invalid: Input should be '1h', '4h' or '1d'"):
        load_profile(path)


def test_unknown_notebook(tmp_path) -> None:
    path = _profile(tmp_path, "notebooks: [01_data, 09_magic]\n")
    with pytest.raises(ParamsError, match=r"unknown notebook\(s\) \['09_magic'\]; known notebooks"):
        load_profile(path)


def test_section_values_reach_the_notebook(tmp_path) -> None:
    path = _profile(tmp_path, "notebooks: [01_data]\n01_data: {acf_lags: 5}\n")
    assert load_profile(path).section("01_data").acf_lags == 5  # type: ignore[attr-defined]


def test_missing_notebooks_key(tmp_path) -> None:
    path = _profile(tmp_path, "data: {freq: 1h}\n")
    with pytest.raises(ParamsError, match=r"required key 'notebooks' is missing"):
        load_profile(path)


def test_not_a_mapping(tmp_path) -> None:
    path = _profile(tmp_path, "- just\n- a list\n")
    with pytest.raises(ParamsError, match=r"a profile must be a mapping of keys, got list"):
        load_profile(path)


def test_invalid_yaml(tmp_path) -> None:
    path = _profile(tmp_path, "notebooks: [01_data\n")
    with pytest.raises(ParamsError, match=r"not valid YAML"):
        load_profile(path)


def test_unknown_profile_lists_available() -> None:
    with pytest.raises(ParamsError, match=r"no profile 'nope'.*available profiles: .*quick.*smoke"):
        load_profile("nope")


def test_override_applies_and_is_typed() -> None:
    profile = load_profile("smoke", overrides=["data.synthetic.hours=2000", "data.synthetic.kind=planted"])
    assert profile.data.synthetic.hours == 2000
    assert profile.data.synthetic.kind == "planted"


def test_override_null_path() -> None:
    assert load_profile("smoke", overrides=["data.path=null"]).data.path is None


def test_override_real_path(real_hourly) -> None:
    profile = load_profile("smoke", overrides=[f"data.path={real_hourly}"])
    assert profile.data.path == str(real_hourly)


def test_override_unknown_key_goes_through_validation() -> None:
    with pytest.raises(ParamsError) as err:
        load_profile("smoke", overrides=["data.pth=x.csv"])
    msg = str(err.value)
    assert "unknown key 'data.pth'" in msg and "-p data.pth=x.csv" in msg and "smoke.yaml" in msg


def test_override_bad_value() -> None:
    with pytest.raises(ParamsError, match=r"data\.repair = 'maybe' is invalid: Input should be a valid boolean"):
        load_profile("smoke", overrides=["data.repair=maybe"])


def test_override_without_equals() -> None:
    with pytest.raises(ParamsError, match=r"override 'data.path' must look like key=value"):
        load_profile("smoke", overrides=["data.path"])


def test_override_into_a_value() -> None:
    with pytest.raises(ParamsError, match=r"data.synthetic.kind is a value, not a section"):
        load_profile("smoke", overrides=["data.synthetic.kind.x=1"])


def test_missing_data_file_is_an_error(tmp_path) -> None:
    with pytest.raises(ParamsError, match=r"data\.path = '/no/such.csv' is invalid: no file at /no/such.csv"):
        load_profile("smoke", overrides=["data.path=/no/such.csv"])


def test_data_config_is_frozen() -> None:
    config = DataConfig()
    with pytest.raises(ValidationError, match=r"freq\n  Instance is frozen"):
        config.freq = "4h"  # type: ignore[misc]
    assert config.freq == DataConfig().freq


def test_profiles_live_in_params_dir() -> None:
    assert (PARAMS_DIR / "quick.yaml").is_file()


def test_date_split_survives_a_dump_and_reload() -> None:
    """Notebooks re-validate the dumped data section: a date split must come back unchanged."""
    from cryptexlab.params import DataConfig

    data = DataConfig.model_validate({"split": {"train_end": "2022-01-01", "val_end": "2023-01-01"}})
    again = DataConfig.model_validate(data.model_dump())
    assert again.split.train_end == "2022-01-01" and again == data
    with pytest.raises(ValidationError, match=r"split by dates ignores shares, so leave out \['train'\]"):
        DataConfig.model_validate({"split": {"train_end": "2022-01-01", "val_end": "2023-01-01", "train": 0.5}})


# ----------------------------------------------------------------------------- one source per fact


def test_params_package_re_exports_every_public_name_of_its_modules() -> None:
    """``from cryptexlab.params import X`` works for whatever a submodule defines (the package is one API)."""
    import importlib
    import pkgutil

    import cryptexlab.params as params

    for info in pkgutil.iter_modules(params.__path__, "cryptexlab.params."):
        missing = public_names(importlib.import_module(info.name)) - set(params.__all__)
        assert not missing, (info.name, sorted(missing))
    assert all(hasattr(params, n) for n in params.__all__)


def test_time_llm_kinds_are_model_kinds_and_the_rest_are_the_baselines() -> None:
    from typing import get_args

    from cryptexlab.models.baselines import BASELINES
    from cryptexlab.params import TABULAR_KINDS, TIMELLM_KINDS, TIMELLM_VARIANTS, ModelConfig, ModelKind

    kinds = get_args(ModelKind)
    assert get_args(ModelConfig.model_fields["kind"].annotation) == kinds
    assert TIMELLM_KINDS == tuple(TIMELLM_VARIANTS) and set(TIMELLM_KINDS) <= set(kinds)
    assert set(kinds) - set(TIMELLM_KINDS) - set(TABULAR_KINDS) == set(BASELINES)
    assert TABULAR_KINDS == ("lightgbm", "ridge")
    assert TIMELLM_VARIANTS == {"timellm": "llm", "timellm_no_llm": "no_llm", "timellm_attention": "attention"}


def test_every_objective_has_a_direction() -> None:
    from typing import get_args

    from cryptexlab.params import OBJECTIVE_DIRECTIONS, Objective

    assert set(OBJECTIVE_DIRECTIONS) == set(get_args(Objective))
    assert {o for o, d in OBJECTIVE_DIRECTIONS.items() if d == "maximize"} == {"val_directional_accuracy",
                                                                              "val_sharpe"}


def test_synthetic_kinds_are_the_generators() -> None:
    from typing import get_args

    from cryptexlab.data.synthetic import VARIANTS
    from cryptexlab.params import SyntheticKind

    assert set(VARIANTS) == set(get_args(SyntheticKind))
