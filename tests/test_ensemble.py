"""Ensemble weights: the known optimum of a constructed case, test error kept apart, errors."""

from __future__ import annotations

import numpy as np
import pytest

from cryptexlab.errors import ParamsError
from cryptexlab.stages.ensemble import fit_weights


def test_recovers_the_known_mixture() -> None:
    rng = np.random.default_rng(0)
    a, b, noise = rng.normal(size=(3, 400, 4))
    target = 0.3 * a + 0.7 * b
    fit = fit_weights({"a": a, "b": b, "useless": noise}, target)
    np.testing.assert_allclose(fit.weights, [0.3, 0.7, 0.0], atol=1e-4)
    assert fit.val_error == pytest.approx(0.0, abs=1e-8)
    assert fit.weights.sum() == pytest.approx(1.0) and (fit.weights >= 0).all()


def test_test_error_reported_separately() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(2, 300, 1))
    val_target = 0.5 * a + 0.5 * b + 0.01 * rng.normal(size=a.shape)
    fit = fit_weights({"a": a, "b": b}, val_target, loss="mae")
    ta, tb = rng.normal(size=(2, 100, 1))
    test_error = fit.error({"a": ta, "b": tb}, ta)  # the test target favours model a
    assert test_error == pytest.approx(np.mean(np.abs(fit.weights[1] * (tb - ta))), rel=1e-9)
    assert test_error != fit.val_error


def test_weights_stay_on_the_simplex_when_one_model_dominates() -> None:
    y = np.linspace(0, 1, 100)[:, None]
    fit = fit_weights({"good": y, "bad": y + 5}, y)
    np.testing.assert_allclose(fit.weights, [1.0, 0.0], atol=1e-6)


@pytest.mark.parametrize("kwargs,pattern", [
    ({"forecasts": {"a": np.zeros((3, 1))}, "target": np.zeros((3, 1))}, r"at least two models"),
    ({"forecasts": {"a": np.zeros((3, 1)), "b": np.zeros((2, 1))}, "target": np.zeros((3, 1))}, r"forecast shapes .* differ"),
    ({"forecasts": {"a": np.zeros((3, 1)), "b": np.zeros((3, 1))}, "target": np.zeros((3, 1)), "loss": "huber"},
     r"unknown ensemble loss 'huber'; use one of mse, mae"),
])
def test_errors(kwargs, pattern) -> None:
    with pytest.raises(ParamsError, match=pattern):
        fit_weights(**kwargs)


def test_combine_needs_the_same_models() -> None:
    fit = fit_weights({"a": np.zeros((3, 1)), "b": np.ones((3, 1))}, np.zeros((3, 1)))
    with pytest.raises(ParamsError, match=r"forecasts of \['b'\] are missing"):
        fit.combine({"a": np.zeros((3, 1))})
