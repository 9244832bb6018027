"""The verdict (06_verdict, ``cryptexlab verdict``): does the tuned forecaster beat a random walk?

What is judged. Every completed trial of the profile's study is trained again from its stored
configuration (on the training period, chosen on validation, exactly as in the search) and
forecasts every window of the untouched test period. The selected configuration (the trial with
the best validation score) is then retrained on training + validation
(:func:`cryptexlab.data.windows.refit_windows`, for the epochs its validation run chose) and
forecasts the test period once. The ensemble of the ``top_k`` trials (weights fit on their
validation forecasts, :mod:`cryptexlab.stages.ensemble`) forecasts it too. These are the *candidates*:
everything the search produced that one might report. Baselines and the no-LLM ablations of
Tan et al. are trained beside them for comparison, outside the correction.

The rule. One loss per test window (``06_verdict.loss`` at ``06_verdict.step``, see
:mod:`cryptexlab.stats.accuracy`). The selected configuration beats the random walk when
Romano-Wolf StepM at size ``alpha``, run over all candidates against the random walk, counts it
among the superior models: StepM controls the family-wise error rate over every comparison the
search made possible, so trying N configurations cannot by itself produce a "yes". Beside it:
Diebold-Mariano and Pesaran-Timmermann of the selected model alone, Hansen's SPA and White's
Reality Check over the candidates, the Model Confidence Set, the Deflated Sharpe Ratio of its
trading strategy with N = trials run, and the Probability of Backtest Overfitting over the
trials' strategies.

Windows of trials with other ``seq_len`` or ``pred_len`` are aligned by their first target bar
(the same bar has the same target and the same last observed value whatever the window length).

Example:
    >>> result = judge(base, search, VerdictNotebook())  # doctest: +SKIP
    >>> result.beats_random_walk, result.rule  # doctest: +SKIP
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from optuna.trial import TrialState
from tqdm.auto import tqdm

from cryptexlab.data.prepare import load_windows
from cryptexlab.data.windows import Windows, refit_windows
from cryptexlab.errors import ParamsError, PipelineError
from cryptexlab.metrics import bars_per_year, trading_table
from cryptexlab.params import TIMELLM_KINDS, SearchConfig, VerdictNotebook
from cryptexlab.search.config import TrialConfig, with_values
from cryptexlab.search.recovery import ranked_trials
from cryptexlab.search.study import find_study
from cryptexlab.search.tuner import run_search
from cryptexlab.stages.ensemble import fit_weights
from cryptexlab.stats import (
    TestResult,
    deflated_sharpe,
    diebold_mariano,
    error_ratio_interval,
    model_confidence_set,
    multiple_tests,
    pbo_cscv,
    pesaran_timmermann,
    step_ratios,
    window_losses,
)
from cryptexlab.training import ExperimentResult, Runner, run_experiment

SELECTED = "selected"
ENSEMBLE = "ensemble"
WALK = "random_walk"


@dataclass
class Forecast:
    """Test-period forecasts of one model, indexed by each window's first target bar."""

    name: str
    role: str  # trial, selected, ensemble, baseline
    pred: np.ndarray
    target: np.ndarray
    last: np.ndarray
    index: pd.DatetimeIndex
    val: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    trial: int | None = None
    val_score: float | None = None


@dataclass
class Verdict:
    """Everything 06_verdict shows and ``cryptexlab verdict --json`` prints."""

    beats_random_walk: bool
    alpha: float
    n_trials: int
    rule: str
    tests: dict[str, TestResult]
    test_mae_ratio: float
    test_mae_interval: tuple[float, float]
    model: dict[str, Any]
    selected_trial: int | None
    superior: list[str]
    table: pd.DataFrame
    steps: pd.DataFrame
    trading: pd.DataFrame
    returns: pd.DataFrame
    mcs: pd.DataFrame
    dsr: dict[str, float]
    pbo: dict[str, Any]
    n_windows: int
    period: tuple[str, str]
    paragraph: str = ""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The JSON of ``cryptexlab verdict --json``."""
        return {
            "beats_random_walk": self.beats_random_walk, "alpha": self.alpha, "n_trials": self.n_trials,
            "rule": self.rule, "tests": {k: {"statistic": _num(v.statistic), "p_value": _num(v.p_value)}
                                         for k, v in self.tests.items()},
            "test_mae_ratio": self.test_mae_ratio, "test_mae_interval": list(self.test_mae_interval),
            "model": self.model, "selected_trial": self.selected_trial, "superior_models": self.superior,
            "n_windows": self.n_windows, "test_period": list(self.period),
            "pbo": _num(self.pbo.get("pbo", float("nan"))), "deflated_sharpe": _num(self.dsr.get("dsr", float("nan"))),
            "models": json.loads(self.table.to_json(orient="records")), "verdict": self.paragraph, "notes": self.notes,
        }


def _num(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


def judge(base: TrialConfig, search: SearchConfig, settings: VerdictNotebook, *, runner: Runner = run_experiment,
          progress: bool = True) -> Verdict:
    """Judge the study named in ``settings`` (its trials' configurations, retrained) on the test period.

    Raises:
        PipelineError: the study has no completed single-objective trial.
    """
    search = search.model_copy(update={"study_name": settings.study_name, "storage": settings.storage})
    if settings.run_search:
        run_search(base, search, runner=runner, show_progress_bar=False)
    study, where = find_study(search)
    if study is None:
        raise PipelineError(f"no study {search.study_name!r} in {where}; run 02_search first or set "
                            "06_verdict.run_search: true")
    done = [t for t in ranked_trials(study) if "config" in t.user_attrs]
    if not done:
        raise PipelineError(f"study {search.study_name!r} in {where} has no completed single-objective trial to judge; "
                            "run more trials (02_search.n_trials) or fix the failures 02_search lists")
    best_cfg = TrialConfig.from_trial(done[0])
    horizon = best_cfg.data.windows.pred_len
    if settings.step is not None and settings.step > horizon:
        raise ParamsError(f"06_verdict.step={settings.step} is beyond the selected trial's horizon (pred_len "
                          f"{horizon}); use a step from 1 to {horizon}, or null for the mean over all steps")
    tried = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
    cache: dict[str, Windows] = {}
    jobs = len(done) + 1 + len(settings.baselines)
    bar = tqdm(total=jobs, desc="verdict: training on test", disable=not progress)
    forecasts: list[Forecast] = []
    best_epochs = 1
    for t in done:
        cfg = TrialConfig.from_trial(t)
        res = runner(cfg.data, cfg.model, cfg.train, windows=_windows(cache, cfg), evaluate_test=True)
        forecasts.append(_forecast(f"trial {t.number}", "trial", res, _windows(cache, cfg), t.number, t.value))
        if t.number == done[0].number:
            best_epochs = max(1, res.best_epoch or len(res.curve) or 1)
        bar.update()
    rounds = {"model.tabular.n_estimators": best_epochs} if best_cfg.model.kind == "lightgbm" else {}
    refit = with_values(best_cfg, {"train.epochs": best_epochs, **rounds})  # lightgbm: the rounds early stopping chose
    res = runner(refit.data, refit.model, refit.train, windows=refit_windows(_windows(cache, best_cfg)),
                 evaluate_test=True, select_best=False)
    forecasts.append(_forecast(SELECTED, SELECTED, res, _windows(cache, best_cfg), done[0].number, done[0].value))
    bar.update()
    notes: list[str] = []
    ensemble = _ensemble(forecasts, settings, notes)
    if ensemble is not None:
        forecasts.append(ensemble)
    for name in settings.baselines:
        if name.startswith("timellm") and best_cfg.model.kind not in TIMELLM_KINDS:
            bar.update()
            continue
        values: dict[str, Any] = {"model.kind": name}
        cfg = with_values(best_cfg, values)
        res = runner(cfg.data, cfg.model, cfg.train, windows=_windows(cache, cfg), evaluate_test=True)
        forecasts.append(_forecast(name, "baseline", res, _windows(cache, cfg)))
        bar.update()
    bar.close()
    per_year = bars_per_year(_windows(cache, best_cfg).index)
    return _decide(forecasts, settings, n_trials=tried, config=best_cfg, selected_trial=done[0].number,
                   periods_per_year=per_year, notes=notes)


def _windows(cache: dict[str, Windows], cfg: TrialConfig) -> Windows:
    key = cfg.data.model_dump_json()
    if key not in cache:
        cache[key] = load_windows(cfg.data)
    return cache[key]


def _forecast(name: str, role: str, res: ExperimentResult, windows: Windows, trial: int | None = None,
              val_score: float | None = None) -> Forecast:
    assert res.test_predictions is not None
    pred, target, last = res.test_predictions
    starts = windows.test.starts + windows.test.seq_len
    return Forecast(name, role, pred, target, last, windows.index[starts], res.val_predictions, trial, val_score)


def _ensemble(forecasts: list[Forecast], settings: VerdictNotebook, notes: list[str]) -> Forecast | None:
    """The top_k trials' ensemble, weights fit on their validation forecasts (same windows only)."""
    trials = [f for f in forecasts if f.role == "trial"]
    first = trials[0]
    same = [f for f in trials if f.val is not None and first.val is not None and f.val[0].shape == first.val[0].shape
            and np.array_equal(f.val[1], first.val[1]) and f.index.equals(first.index)][: settings.top_k]
    if len(same) < 2:
        notes.append(f"no ensemble: fewer than two of the top {settings.top_k} trials forecast the same windows")
        return None
    assert first.val is not None
    fit = fit_weights({f.name: f.val[0] for f in same}, first.val[1], loss=settings.loss)  # type: ignore[index]
    pred = fit.combine({f.name: f.pred for f in same})
    weights = ", ".join(f"{n} {w:.2f}" for n, w in zip(fit.names, fit.weights, strict=True))
    notes.append(f"ensemble of {len(same)} trials, weights fit on validation: {weights}")
    return Forecast(ENSEMBLE, ENSEMBLE, pred, first.target, first.last, first.index)


def _align(forecasts: list[Forecast]) -> tuple[pd.DatetimeIndex, int]:
    common = forecasts[0].index
    for f in forecasts[1:]:
        common = common.intersection(f.index)
    return common, min(f.pred.shape[1] for f in forecasts)


def _decide(forecasts: list[Forecast], settings: VerdictNotebook, *, n_trials: int, config: TrialConfig | None,
            selected_trial: int | None, periods_per_year: float, notes: list[str]) -> Verdict:
    """The tests and the verdict from test-period forecasts (the candidates' roles: trial, selected, ensemble)."""
    index, h = _align(forecasts)
    if len(index) < 30:
        raise PipelineError(f"only {len(index)} test windows are common to every model; the tests need at least 30: "
                            "use a longer test period (data.split.test) or more data")
    step = settings.step  # checked against the horizon before training; window_losses refuses a shorter one
    rows = {}
    for f in forecasts:
        keep = f.index.get_indexer(index)
        rows[f.name] = (f.pred[keep, :h], f.target[keep, :h], f.last[keep])
    sel = rows[SELECTED]
    target, last = sel[1], sel[2]
    walk = np.repeat(last[:, None], h, axis=1)
    losses = pd.DataFrame({n: window_losses(p, target, settings.loss, step) for n, (p, _, _) in rows.items()})
    bench = window_losses(walk, target, settings.loss, step)
    candidates = [f.name for f in forecasts if f.role in ("trial", SELECTED, ENSEMBLE)]
    multi = multiple_tests(bench, losses[candidates], alpha=settings.alpha, reps=settings.reps)
    dm = diebold_mariano(target, sel[0], walk, loss=settings.loss, step=step)
    k = (step or 1) - 1
    pt = pesaran_timmermann(target[:, k] - last, sel[0][:, k] - last)
    ratio, lo, hi = error_ratio_interval(window_losses(sel[0], target, "mae", None),
                                         window_losses(walk, target, "mae", None), reps=settings.reps)
    trading, nets = trading_table({n: p for n, (p, _, _) in rows.items()}, target, last, cost=settings.cost,
                                  slippage=settings.slippage, periods_per_year=periods_per_year)
    nets.index = index  # each bar's time (the first target bar of its window)
    trial_names = [f.name for f in forecasts if f.role == "trial"]
    per_bar = nets[trial_names].apply(lambda r: r.mean() / r.std(ddof=1) if r.std(ddof=1) > 0 else 0.0)
    dsr = deflated_sharpe(nets[SELECTED].to_numpy(), max(n_trials, 1),
                          float(per_bar.var(ddof=1)) if len(per_bar) > 1 else 0.0)
    pbo: dict[str, Any] = {"pbo": float("nan")}
    blocks = min(settings.pbo_blocks, len(index) // 2)
    blocks -= blocks % 2  # CSCV halves the blocks; each needs at least two bars
    if len(trial_names) >= 2 and blocks >= 2:
        pbo = pbo_cscv(nets[trial_names], n_blocks=blocks)
    else:
        notes.append("no probability of backtest overfitting: it needs at least two trials")
    mcs_losses = losses.copy()
    mcs_losses[WALK] = bench
    mcs = model_confidence_set(mcs_losses, alpha=settings.alpha, reps=settings.reps)
    tests = {"diebold_mariano": dm, "pesaran_timmermann": pt, "spa": multi.spa, "reality_check": multi.reality_check,
             "deflated_sharpe": TestResult("deflated_sharpe", dsr["dsr"], 1 - dsr["dsr"],
                                           f"N = {n_trials} trials, per-bar SR {dsr['sr']:.4f} vs luck {dsr['sr0']:.4f}")}
    table = _table(rows, losses, bench, multi.superior, mcs, candidates, settings, step, forecasts)
    beats = SELECTED in multi.superior
    rule = (f"the selected configuration beats the random walk when Romano-Wolf StepM at size {settings.alpha:g}, run "
            f"over all {len(candidates)} candidates the search produced ({len(trial_names)} trials' models, the selected "
            f"one retrained on train + validation{', the top-k ensemble' if ENSEMBLE in candidates else ''}) against the "
            f"random walk on each test window's {settings.loss.upper()} at "
            f"{'step ' + str(step) if step else 'the mean over all steps'}, counts it among the superior models "
            "(family-wise error controlled over every candidate)")
    verdict = Verdict(
        beats, settings.alpha, n_trials, rule, tests, ratio, (lo, hi), config.to_dict() if config else {},
        selected_trial, multi.superior, table, step_ratios(sel[0], target, last), trading, nets, mcs, dsr, pbo,
        len(index), (str(index[0]), str(index[-1])), notes=notes)
    verdict.paragraph = paragraph(verdict, settings)
    return verdict


def _table(rows: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]], losses: pd.DataFrame, bench: np.ndarray,
           superior: list[str], mcs: pd.DataFrame, candidates: list[str], settings: VerdictNotebook,
           step: int | None, forecasts: list[Forecast]) -> pd.DataFrame:
    in_set = dict(zip(mcs["model"], mcs["in_set"], strict=True))
    roles = {f.name: f.role for f in forecasts}
    vals = {f.name: f.val_score for f in forecasts}
    out = []
    for name, (pred, target, last) in rows.items():
        walk = np.repeat(last[:, None], target.shape[1], axis=1)
        dm = diebold_mariano(target, pred, walk, loss=settings.loss, step=step)
        out.append({"model": name, "role": roles[name], "val_score": vals[name],
                    "test_mae": float(np.abs(pred - target).mean()),
                    "mae_ratio": float(np.abs(pred - target).mean() / np.abs(walk - target).mean()),
                    "loss_ratio": float(losses[name].mean() / bench.mean()), "dm_stat": dm.statistic,
                    "dm_p_value": dm.p_value, "in_correction": name in candidates,
                    "stepm_superior": name in superior, "in_mcs": bool(in_set.get(name, False))})
    return pd.DataFrame(out)


def paragraph(v: Verdict, settings: VerdictNotebook) -> str:
    """The verdict in one paragraph, every figure from ``v``."""
    t = v.tests
    trade = v.trading.loc[SELECTED] if SELECTED in v.trading.index else None
    hold = v.trading.loc["buy_and_hold"]
    walk_in = bool(v.mcs.set_index("model").loc[WALK, "in_set"])
    answer = "yes" if v.beats_random_walk else "no"
    text = (f"**Beats the random walk at {v.alpha:.0%} after correcting for {v.n_trials} trials: {answer}.** "
            f"On the untouched test period ({v.n_windows} windows, {v.period[0][:16]} to {v.period[1][:16]}) the "
            f"selected configuration (trial {v.selected_trial}, retrained on train + validation) has "
            f"{v.test_mae_ratio:.3f} times the random walk's MAE (95% stationary-bootstrap interval "
            f"{v.test_mae_interval[0]:.3f} to {v.test_mae_interval[1]:.3f}). Alone, Diebold-Mariano gives "
            f"p = {t['diebold_mariano'].p_value:.3g} and Pesaran-Timmermann p = {_p(t['pesaran_timmermann'].p_value)}; "
            f"over every candidate, SPA gives p = {t['spa'].p_value:.3g} (Reality Check {t['reality_check'].p_value:.3g}), "
            f"StepM counts {len(v.superior)} candidate(s) superior"
            f"{' including the selected one' if v.beats_random_walk else ', not the selected one'}, and the random walk "
            f"is {'inside' if walk_in else 'outside'} the {1 - v.alpha:.0%} model confidence set. ")
    if trade is not None:
        text += (f"Trading its forecast direction at {1e4 * (settings.cost + settings.slippage):.0f} bp a side gives "
                 f"Sharpe {trade['sharpe']:.2f} (buy-and-hold {hold['sharpe']:.2f}); its deflated Sharpe ratio is "
                 f"{v.dsr['dsr']:.2f} (above 0.95 would reject luck after {v.n_trials} trials)")
        pbo = v.pbo.get("pbo", float("nan"))
        text += f" and the probability of backtest overfitting {pbo:.2f}." if np.isfinite(pbo) else "."
    return text + f" Rule: {v.rule}."


def _p(p: float) -> str:
    return f"{p:.3g}" if np.isfinite(p) else "n/a (the forecast never changes direction)"
