"""Cross-validation over time: splitters, each fold's windows, the cross-validator.

=============  ===============================================================================
module         what it holds
=============  ===============================================================================
``splitters``  time-series splitters over windows (scikit-learn's ``split`` protocol): expanding,
               sliding, blocked, purged K-fold with embargo, combinatorial purged (CPCV)
``folds``      the development period and each fold's windows, scaler and regime labels, fit on
               the fold's training rows only
``validator``  :class:`~cryptexlab.cv.validator.CrossValidator`: one model per fold, fold scores
               with intervals, per-regime scores, the per-fold report hook
=============  ===============================================================================

The splitters are re-exported here (they need numpy and pandas only); the cross-validator,
which trains, is imported from ``cryptexlab.cv.validator``.
"""

from cryptexlab.cv.splitters import (
    BlockedSplit,
    CombinatorialPurgedSplit,
    ExpandingWindowSplit,
    PurgedKFold,
    SlidingWindowSplit,
    to_bars,
)

__all__ = ["BlockedSplit", "CombinatorialPurgedSplit", "ExpandingWindowSplit", "PurgedKFold", "SlidingWindowSplit",
           "to_bars"]
