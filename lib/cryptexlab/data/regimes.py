"""Market regimes: a Gaussian HMM fit on the training period, labels by forward filtering.

The HMM (``hmmlearn.GaussianHMM``, full covariance) sees two causal inputs per bar: the log
return and the log of the 24-bar realised volatility. It is fit on training rows only. Labels
at bar t come from the *filtered* state probabilities P(state_t | inputs up to t), computed by
the forward recursion below; hmmlearn's own ``predict``/``predict_proba`` use the whole
sequence (Viterbi / forward-backward smoothing), which would let later bars move earlier
labels. States are renumbered by volatility: 0 is the calmest regime.

Example:
    >>> from cryptexlab.data.synthetic import synthetic_candles
    >>> c = synthetic_candles("default", 3000, 1).frame
    >>> model = fit_regimes(regime_inputs(c).iloc[:2000], n_regimes=2, seed=0)
    >>> labels, probs = filter_regimes(model, regime_inputs(c))
    >>> sorted(labels.dropna().unique().tolist())
    [0.0, 1.0]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
from hmmlearn.hmm import GaussianHMM
from scipy.stats import multivariate_normal

from cryptexlab.errors import DataError

VOL_WINDOW = 24


@dataclass(frozen=True)
class RegimeModel:
    """A fitted HMM with its states ordered from calm (0) to turbulent."""

    hmm: GaussianHMM
    order: np.ndarray  # order[k] = hmm state shown as regime k

    @property
    def n_regimes(self) -> int:
        """Number of regimes."""
        return len(self.order)


def regime_inputs(candles: pd.DataFrame) -> pd.DataFrame:
    """Causal HMM inputs: log return and log realised volatility over 24 bars."""
    r = np.log(candles["close"]).diff()
    vol = r.rolling(VOL_WINDOW).std()
    return pd.DataFrame({"ret": r, "log_vol": np.log(vol.clip(lower=1e-8))}, index=candles.index)


def fit_regimes(train_inputs: pd.DataFrame, n_regimes: int = 3, seed: int = 0) -> RegimeModel:
    """Fit the HMM on training inputs (rows with NaN, i.e. warm-up, are skipped).

    Raises:
        DataError: if there are fewer than 50 usable rows per regime.
    """
    x = train_inputs.dropna().to_numpy()
    if len(x) < 50 * n_regimes:
        raise DataError(
            f"{len(x)} training rows are too few to fit {n_regimes} regimes (need {50 * n_regimes}); "
            "use more data, a larger train share or fewer regimes"
        )
    log = logging.getLogger("hmmlearn.base")  # "Model is not converging" lines: hmm.monitor_ keeps the history
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        hmm = _fit(x, n_regimes, seed)
    finally:
        log.setLevel(level)
    order = np.argsort(hmm.means_[:, 1])  # by mean log volatility
    return RegimeModel(hmm=hmm, order=order)


def _fit(x: np.ndarray, n_regimes: int, seed: int) -> GaussianHMM:
    """Full covariances; where EM collapses one (a near-singular state on a short or flat stretch,
    hmmlearn's "covars must be symmetric, positive-definite"), diagonal ones with a larger floor."""
    try:
        return GaussianHMM(n_components=n_regimes, covariance_type="full", n_iter=100, random_state=seed).fit(x)
    except ValueError as first:
        try:
            return GaussianHMM(n_components=n_regimes, covariance_type="diag", n_iter=100, random_state=seed,
                               min_covar=1e-2).fit(x)
        except ValueError:
            raise DataError(f"the regime HMM did not fit {len(x)} training rows with {n_regimes} regimes ({first}); "
                            "use more data, a larger training part or fewer regimes") from None


def filter_regimes(model: RegimeModel, inputs: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Filtered regime probabilities and the most likely regime at every bar (NaN in warm-up)."""
    hmm = model.hmm
    valid = inputs.notna().all(axis=1).to_numpy()
    x = inputs.to_numpy()[valid]
    log_emit = np.column_stack([
        multivariate_normal(hmm.means_[k], hmm.covars_[k], allow_singular=True).logpdf(x)
        for k in range(hmm.n_components)
    ]).reshape(len(x), hmm.n_components)
    emit = np.exp(log_emit - log_emit.max(axis=1, keepdims=True))  # row scale cancels below
    alpha = np.empty_like(emit)
    prev = hmm.startprob_
    for t in range(len(x)):  # scaled forward recursion: P(state_t | inputs up to t)
        cur = emit[t] * (prev if t == 0 else prev @ hmm.transmat_)
        prev = cur / cur.sum()
        alpha[t] = prev
    probs = np.full((len(inputs), model.n_regimes), np.nan)
    probs[valid] = alpha[:, model.order]
    prob_frame = pd.DataFrame(probs, index=inputs.index, columns=[f"regime_p{k}" for k in range(model.n_regimes)])
    labels = pd.Series(np.where(valid, np.nanargmax(np.nan_to_num(probs, nan=-1), axis=1), np.nan),
                       index=inputs.index, name="regime")
    return labels, prob_frame
