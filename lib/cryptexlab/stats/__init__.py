"""Is a forecaster better than the random walk, and is that more than the luck of having tried many?

* :mod:`.accuracy`: error ratios per horizon step (Theil's U), Diebold-Mariano with the
  Harvey-Leybourne-Newbold correction (statsmodels), the Pesaran-Timmermann directional test,
  block-bootstrap intervals of the error ratio (arch).
* :mod:`.multiple`: over every configuration a search tried, Hansen's SPA and White's Reality
  Check, Romano-Wolf StepM and the Model Confidence Set (arch).
* :mod:`.overfitting`: the Deflated Sharpe Ratio and the Probability of Backtest Overfitting by
  CSCV (Bailey and Lopez de Prado; no maintained package, so written here from the papers).

Every test returns a :class:`TestResult` (statistic, one-sided p-value for "the model is better",
and what was tested), so the verdict can list them uniformly.
"""

from cryptexlab.stats.accuracy import (
    TestResult,
    diebold_mariano,
    error_ratio_interval,
    pesaran_timmermann,
    step_ratios,
    window_losses,
)
from cryptexlab.stats.multiple import MultipleTests, model_confidence_set, multiple_tests
from cryptexlab.stats.overfitting import (
    deflated_sharpe,
    expected_max_sharpe,
    pbo_cscv,
    probabilistic_sharpe,
)

__all__ = [
    "MultipleTests",
    "TestResult",
    "deflated_sharpe",
    "diebold_mariano",
    "error_ratio_interval",
    "expected_max_sharpe",
    "model_confidence_set",
    "multiple_tests",
    "pbo_cscv",
    "pesaran_timmermann",
    "probabilistic_sharpe",
    "step_ratios",
    "window_losses",
]
