"""Load-time checks of a profile (params.check_profile and the cross-section rules), and how the
search spaces keep them: every error names the key, the value, the rule and a fix."""

from __future__ import annotations

import optuna
import pytest

from cryptexlab.errors import ParamsError
from cryptexlab.params import (
    DataConfig,
    ModelConfig,
    SchedulerConfig,
    SearchConfig,
    SearchParam,
    TrainConfig,
    config_key_problem,
    config_keys,
    parameter_names,
)
from cryptexlab.profiles import load_profile
from cryptexlab.search import spaces
from cryptexlab.search.config import InvalidConfiguration, TrialConfig, with_values


def load(*overrides: str):
    return load_profile("smoke", overrides=list(overrides))


def write(tmp_path, text: str):
    path = tmp_path / "p.yaml"
    path.write_text(text)
    return path


# ------------------------------------------------------------------ a. loss parameters


@pytest.mark.parametrize(("loss", "params", "rule"), [
    ("ASYMMETRIC", "{qq: 0.5}", r"loss ASYMMETRIC takes no parameter\(s\) \['qq'\]; it takes q$"),
    ("MSE", "{q: 0.5}", r"loss MSE takes no parameter\(s\) \['q'\]; it takes none, so leave loss_params out"),
    ("TRADING_LOSS", "{weight: 1}", r"loss TRADING_LOSS takes no parameter\(s\) \['weight'\]; it takes error, "
                                    r"error_weight, direction_weight, k, power, cost"),
])
def test_unknown_loss_parameter(loss: str, params: str, rule: str) -> None:
    with pytest.raises(ParamsError, match=r"train\.loss_params = \{.*\} is invalid: " + rule):
        load(f"train.loss={loss}", f"train.loss_params={params}")


def test_bad_loss_parameter_value() -> None:
    with pytest.raises(ParamsError, match=r"train\.loss_params = \{'q': 1\.5\} is invalid: ASYMMETRIC: quantile 1\.5 "
                                          r"is outside \(0, 1\).*use e\.g\. 0\.1, 0\.5 or 0\.9"):
        load("train.loss=ASYMMETRIC", "train.loss_params={q: 1.5}")


def test_accepted_loss_parameters_load() -> None:
    assert load("train.loss=QUANTILE", "train.loss_params={quantiles: [0.2, 0.8]}").train.loss_params == {
        "quantiles": [0.2, 0.8]}


# ------------------------------------------------------------------ b. scheduler parameters


def test_unknown_scheduler_parameter() -> None:
    with pytest.raises(ParamsError, match=r"smoke\.yaml.*: train\.scheduler\.params = \{'warmup_frac': 0\.1\} is "
                                          r"invalid: scheduler kind warmup takes no parameter\(s\) \['warmup_frac'\]; "
                                          r"it takes warmup_steps, warmup_fraction, start_factor, decay, eta_min"):
        load("train.scheduler={kind: warmup, params: {warmup_frac: 0.1}}")


def test_parameter_of_the_constant_schedule() -> None:
    with pytest.raises(ParamsError, match=r"scheduler kind constant takes no parameter\(s\) \['T_0'\]; it takes none, "
                                          r"so leave params out"):
        load("train.scheduler={kind: constant, params: {T_0: 4}}")


def test_unknown_parameter_of_a_compared_schedule(tmp_path) -> None:
    path = write(tmp_path, "notebooks: [04_schedules]\n04_schedules:\n  schedules:\n    - {kind: constant}\n"
                           "    - {kind: crypto_weekly, params: {amplitud: 0.5}}\n")
    with pytest.raises(ParamsError, match=r"04_schedules\.schedules\.1\.params = \{'amplitud': 0\.5\} is invalid: "
                                          r"scheduler kind crypto_weekly takes no parameter\(s\) \['amplitud'\]; it "
                                          r"takes amplitude, period, phase"):
        load_profile(path)


def test_bad_scheduler_value_is_caught_by_the_factory() -> None:
    with pytest.raises(ParamsError, match=r"train\.scheduler\.params = \{\} is invalid: .*cyclical needs max_lr.*"
                                          r"e\.g\. params: \{max_lr: 0\.01\}"):
        load("train.scheduler={kind: cyclical}")


# ------------------------------------------------------------------ c. names of the search


def test_custom_name_that_is_no_configuration_key() -> None:
    custom = "[{name: data.windowz.seq_len, type: int, low: 8, high: 16}]"
    with pytest.raises(ParamsError, match=r"02_search\.custom\.0\.name = 'data\.windowz\.seq_len' is invalid: "
                                          r"'data\.windowz\.seq_len' is not a configuration key: data has no key "
                                          r"'windowz'; did you mean data\.windows\.seq_len"):
        load("02_search.mode=custom", f"02_search.custom={custom}")


@pytest.mark.parametrize(("name", "rule"), [
    ("window.seq_len", r"'window\.seq_len' must start with data\., model\. or train\."),
    ("model.d_model.x", r"model\.d_model is a value, not a section"),
    ("model.layers", r"model has no key 'layers'; .*the keys of model: kind, llm_model"),
])
def test_custom_name_rules(name: str, rule: str) -> None:
    with pytest.raises(ValueError, match=rule):
        SearchParam(name=name, type="int", low=1, high=2)


def test_configuration_keys() -> None:
    keys = set(config_keys())
    assert {"model.d_model", "data.windows.seq_len", "data.split.train", "train.scheduler", "train.scheduler.kind",
            "train.loss_params"} <= keys
    for free in ("train.loss_params.q", "train.scheduler.params.T_0"):  # one name below a free mapping
        assert config_key_problem(free) is None
    assert "is a value" in config_key_problem("train.loss_params.q.x")
    assert "data.external is a value" in config_key_problem("data.external.path")  # a list is set whole


def test_set_dotted_adds_sections_and_refuses_to_descend_into_a_value() -> None:
    from cryptexlab.params import set_dotted

    doc = {"model": {"d_model": 8}}
    set_dotted(doc, "data.windows.seq_len", 48)
    set_dotted(doc, "model.d_model", 16)
    set_dotted(doc, "train.scheduler", {"kind": "warmup"})
    assert doc == {"model": {"d_model": 16}, "data": {"windows": {"seq_len": 48}}, "train": {"scheduler": {"kind": "warmup"}}}
    with pytest.raises(ParamsError, match=r"^model\.d_model is a value, not a section, so model\.d_model\.x cannot be set$"):
        set_dotted(doc, "model.d_model.x", 1)


def test_overrides_and_spaces_set_dotted_keys_the_same_way() -> None:
    """``-p`` overrides and search spaces write a dotted key with one helper, so they agree on what it means."""
    profile = load("data.windows.seq_len=48", "train.scheduler.params.warmup_steps=3", "train.scheduler.kind=warmup")
    config = with_values(TrialConfig(DataConfig(), ModelConfig(), TrainConfig()),
                   {"data.windows.seq_len": 48, "train.scheduler.kind": "warmup", "train.scheduler.params.warmup_steps": 3})
    assert config.data.windows.seq_len == profile.data.windows.seq_len == 48
    assert config.train.scheduler == profile.train.scheduler == SchedulerConfig(kind="warmup", params={"warmup_steps": 3})
    with pytest.raises(ParamsError, match=r"override 'model\.d_model\.x=1': model\.d_model is a value, not a section"):
        load("model.d_model.x=1")
    with pytest.raises(InvalidConfiguration, match=r"model\.d_model is a value, not a section, so model\.d_model\.x"):
        with_values(TrialConfig(DataConfig(), ModelConfig(d_model=8), TrainConfig()), {"model.d_model.x": 1})


def test_grid_key_that_is_no_configuration_key() -> None:
    with pytest.raises(ParamsError, match=r"02_search\.grid: grid key 'model\.d_modle' is not a configuration key: "
                                          r"model has no key 'd_modle'; did you mean model\.d_model"):
        load("02_search.method=grid", "02_search.grid={model.d_modle: [8, 16]}")


def test_grid_keys_are_configuration_keys_not_space_names() -> None:
    # the grid sets its keys on the configuration; train.scheduler.T_0 is only a name of the training space
    with pytest.raises(ValueError, match=r"grid key 'train\.scheduler\.T_0' is not a configuration key: "
                                         r"train\.scheduler has no key 'T_0'"):
        SearchConfig(method="grid", grid={"train.scheduler.T_0": [8, 16]})
    with pytest.raises(ValueError, match=r"grid key 'model\.d_model' has no values"):
        SearchConfig(method="grid", grid={"model.d_model": []})


def test_enqueued_name_that_the_space_does_not_sample() -> None:
    with pytest.raises(ParamsError, match=r"02_search\.enqueue\.0 = \{'model\.d_modle': 8\} is invalid: "
                                          r"\['model\.d_modle'\] are not parameters of the quick space, so the trial "
                                          r"would ignore them \(model\.d_modle: did you mean model\.d_model\?\); its "
                                          r"parameters: model\.d_ff, model\.d_model"):
        load("02_search.enqueue=[{model.d_modle: 8}]")
    with pytest.raises(ParamsError, match=r"\['model\.llm_layers'\] are not parameters of the quick space"):
        load("02_search.enqueue=[{model.llm_layers: 2}]")  # a configuration key, but quick does not sample it


def test_enqueue_may_use_the_space_names() -> None:
    profile = load("02_search.mode=training", "02_search.enqueue=[{train.scheduler.kind: cosine_restarts, "
                   "train.scheduler.T_0: 16}]")
    assert profile.search.enqueue[0]["train.scheduler.T_0"] == 16


def test_condition_on_a_parameter_not_declared_above() -> None:
    custom = ("[{name: model.activation, type: categorical, choices: [relu], condition: {model.d_layers: 2}}, "
              "{name: model.d_layers, type: int, low: 1, high: 2}]")
    with pytest.raises(ParamsError, match=r"02_search: custom\.0 \(model\.activation\) has condition "
                                          r"model\.d_layers=2, but 'model\.d_layers' is not a custom parameter "
                                          r"declared above it, so model\.activation would never be sampled"):
        load("02_search.mode=custom", f"02_search.custom={custom}")


def test_condition_on_a_value_the_parameter_never_takes() -> None:
    custom = [SearchParam(name="train.loss", type="categorical", choices=["MSE", "MAE"]),
              SearchParam(name="train.loss_params.q", type="float", low=0.1, high=0.9,
                          condition={"train.loss": "ASYMMETRIC"})]
    with pytest.raises(ValueError, match=r"custom\.1 \(train\.loss_params\.q\) has condition "
                                         r"train\.loss='ASYMMETRIC', but train\.loss takes only \['MSE', 'MAE'\]"):
        SearchConfig(mode="custom", custom=custom)


# ------------------------------------------------------------------ d, e. the backbone


@pytest.mark.parametrize(("name", "rule"), [
    ("NOPE", r"unknown backbone 'NOPE'; choose one of MINILM, BERT"),
    ("/no/such/folder", r"no folder at /no/such/folder and not a hub id \(owner/name\); give one of MINILM"),
])
def test_llm_model_that_names_no_backbone(name: str, rule: str) -> None:
    with pytest.raises(ParamsError, match=rf"model\.llm_model = '{name}' is invalid: {rule}"):
        load(f"model.llm_model={name}")


def test_llm_choice_that_names_no_backbone() -> None:
    with pytest.raises(ParamsError, match=r"02_search\.llm_choices\.1 = 'NOPE' is invalid: unknown backbone 'NOPE'"):
        load("02_search.llm_choices=[MINILM, NOPE]")


def test_hub_id_not_cached_skips_the_width_check() -> None:
    assert load("model.llm_model=someone/some-model", "model.d_ff=4096").model.d_ff == 4096


def test_folder_without_a_model_config(tmp_path) -> None:
    with pytest.raises(ParamsError, match=r"model\.llm_model = '.*' is invalid: .*holds no readable model config"):
        load(f"model.llm_model={tmp_path}")


def test_d_ff_above_the_backbone_width() -> None:
    with pytest.raises(ParamsError, match=r"model\.d_ff = 512 is invalid: the head reads the first d_ff features of "
                                          r"the backbone's output, and MINILM has 384; set model\.d_ff <= 384"):
        load("model.d_ff=512")
    assert load("model.d_ff=384").model.d_ff == 384


def test_width_of_a_local_folder_comes_from_its_config(tmp_path) -> None:
    from transformers import BertConfig

    BertConfig(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=37).save_pretrained(tmp_path)
    with pytest.raises(ParamsError, match=rf"model\.d_ff = 64 is invalid: .*{tmp_path} has 32; set model\.d_ff <= 32"):
        load(f"model.llm_model={tmp_path}", "model.d_ff=64")
    with pytest.raises(ParamsError, match=r"model\.llm_layers = 3 is invalid: .* has 2 layers; set model\.llm_layers <= 2"):
        load(f"model.llm_model={tmp_path}", "model.llm_layers=3")


# ------------------------------------------------------------------ f. patch and window


def test_patch_len_above_seq_len() -> None:
    with pytest.raises(ParamsError, match=r"smoke\.yaml.*: model\.patch_len = 40 is above data\.windows\.seq_len = 32: "
                                          r"a patch must fit inside the input window; set model\.patch_len <= 32"):
        load("model.patch_len=40")


def test_baselines_have_no_patches(tmp_path) -> None:
    path = write(tmp_path, "notebooks: [01_data]\nmodel: {kind: dlinear}\ndata:\n  windows: {seq_len: 8}\n")
    assert load_profile(path).model.kind == "dlinear"  # the default patch_len 16 > 8 does not matter


# ------------------------------------------------------------------ g. Time-LLM fields on a baseline


@pytest.mark.parametrize("fields", [{"llm_layers": 5}, {"d_ff": 64, "prompt": False}, {"dropout": 0.3},
                                    {"llm_model": "GPT2"}])
def test_baseline_refuses_time_llm_fields(fields: dict) -> None:
    listed = ", ".join(f"{k}={v!r}" for k, v in fields.items())
    with pytest.raises(ValueError, match=rf"kind='dlinear' is a baseline and ignores the Time-LLM field\(s\) "
                                         rf"{listed}; remove them, or choose one of the kinds timellm"):
        ModelConfig(kind="dlinear", **fields)


def test_baseline_round_trips_a_full_dump() -> None:
    # notebooks receive model_dump() and validate it again: defaults set explicitly are no conflict
    config = ModelConfig.model_validate(ModelConfig(kind="seasonal_naive").model_dump())
    assert config.kind == "seasonal_naive"
    assert ModelConfig(kind="timellm_no_llm", llm_layers=3).llm_layers == 3


def test_baseline_profile_with_time_llm_fields() -> None:
    # an override of the kind leaves the profile's Time-LLM fields behind; one that sets such a field is refused
    assert load("model.kind=dlinear", "02_search.mode=training").model.model_dump(exclude_unset=True) == {"kind": "dlinear"}
    with pytest.raises(ParamsError, match=r"smoke\.yaml.*: model: kind='dlinear' is a baseline and ignores the "
                                          r"Time-LLM field\(s\) d_model=8"):
        load("model.kind=dlinear", "model.d_model=8")


def test_baseline_under_a_time_llm_search(tmp_path) -> None:
    base = "notebooks: [02_search]\nmodel: {kind: dlinear}\n"
    with pytest.raises(ParamsError, match=r"02_search tunes the Time-LLM field\(s\) model\.\* \(mode quick\), but "
                                          r"model\.kind = 'dlinear' is a baseline.*use 02_search\.mode: training"):
        load_profile(write(tmp_path, base))
    assert load_profile(write(tmp_path, base + "02_search: {mode: training}\n")).search.mode == "training"
    custom = ("02_search:\n  mode: custom\n  custom:\n    - {name: model.kind, type: categorical, choices: [dlinear, "
              "timellm]}\n    - {name: model.d_model, type: categorical, choices: [8, 16], condition: {model.kind: "
              "timellm}}\n")
    assert load_profile(write(tmp_path, base + custom)).search.mode == "custom"


def test_problems_are_listed_together() -> None:
    with pytest.raises(ParamsError) as err:
        load("model.d_ff=512", "train.loss_params={q: 0.5}")
    lines = str(err.value).splitlines()
    assert len(lines) == 2 and all("smoke.yaml" in line for line in lines)
    assert "train.loss_params" in lines[0] and "model.d_ff" in lines[1]


# ------------------------------------------------------------------ the spaces keep the rules

BASE = TrialConfig(DataConfig.model_validate({"synthetic": {"hours": 1500}, "windows": {"seq_len": 32, "pred_len": 8}}),
                   ModelConfig(d_model=32, llm_layers=2, dropout=0.2), TrainConfig(loss="ASYMMETRIC", loss_params={"q": 0.6}))


def test_switch_to_a_baseline_leaves_the_time_llm_fields_behind() -> None:
    config = with_values(BASE, {"model.kind": "dlinear"})
    assert config.model.kind == "dlinear" and config.model.model_fields_set == {"kind"}
    assert with_values(BASE, {"model.kind": "timellm"}).model.d_model == 32  # a Time-LLM kind keeps them


def test_sampled_time_llm_field_on_a_baseline_is_invalid() -> None:
    with pytest.raises(InvalidConfiguration, match=r"model: kind='dlinear' is a baseline and ignores the Time-LLM "
                                                   r"field\(s\) d_model=8"):
        with_values(BASE, {"model.kind": "dlinear", "model.d_model": 8})


def test_sampled_loss_leaves_the_base_loss_parameters_behind() -> None:
    assert with_values(BASE, {"train.loss": "MSE"}).train.loss_params == {}
    assert with_values(BASE, {"train.loss": "ASYMMETRIC"}).train.loss_params == {"q": 0.6}


def test_unknown_key_is_an_invalid_configuration_not_a_key_error() -> None:
    with pytest.raises(InvalidConfiguration, match=r"data\.windowz: Extra inputs are not permitted"):
        with_values(BASE, {"data.windowz.seq_len": 16})
    with pytest.raises(InvalidConfiguration, match=r"'foo\.x' must start with data\., model\. or train\."):
        with_values(BASE, {"foo.x": 1})


def test_apply_keeps_a_date_split() -> None:
    data = DataConfig.model_validate({"split": {"train_end": "2020-06-01", "val_end": "2020-09-01"}})
    config = with_values(TrialConfig(data, ModelConfig(), TrainConfig()), {"model.d_model": 8})
    assert config.data.split.train_end == "2020-06-01" and config.model.d_model == 8


@pytest.mark.parametrize("search", [SearchConfig(mode="quick"), SearchConfig(mode="architecture"),
                                    SearchConfig(mode="training"), SearchConfig(mode="comprehensive"),
                                    SearchConfig(mode="comprehensive", pred_len_choices=[8, 16])],
                         ids=["quick", "architecture", "training", "comprehensive", "comprehensive+pred_len"])
def test_parameter_names_are_what_the_space_samples(search: SearchConfig) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    seen: set[str] = set()
    for _ in range(60):
        trial = study.ask()
        spaces.space_for(search.mode)(trial, BASE, search)
        seen |= set(trial.params)
    assert seen == parameter_names(search)


def test_parameter_names_of_custom_and_grid() -> None:
    custom = SearchConfig(mode="custom", custom=[SearchParam(name="model.d_model", type="int", low=8, high=16)])
    assert parameter_names(custom) == {"model.d_model"}
    assert parameter_names(SearchConfig(method="grid", grid={"train.epochs": [1, 2]})) == {"train.epochs"}
