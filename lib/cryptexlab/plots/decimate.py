"""Decimation of long series for display: the figure draws a few thousand points, the statistics use every bar.

A browser draws 40,000 hourly bars no better than 2,000 well-chosen ones, but a page that embeds
them all grows by megabytes per figure. :func:`display_positions` picks the points to draw with
MinMaxLTTB (Van Der Donckt et al. 2023, from the maintained ``tsdownsample`` package): the series
is cut into buckets, each bucket's minimum and maximum are kept as candidates, and the Largest
Triangle Three Buckets rule keeps the visually most important one, so spikes and crashes survive.

Example:
    >>> import numpy as np
    >>> y = np.sin(np.linspace(0, 20, 50_000))
    >>> pos = display_positions(y, max_points=1000)
    >>> len(pos), int(pos[0]), int(pos[-1])
    (1000, 0, 49999)
    >>> len(display_positions(y[:500], max_points=1000))
    500
"""

from __future__ import annotations

import numpy as np
from tsdownsample import MinMaxLTTBDownsampler, NaNMinMaxLTTBDownsampler

from cryptexlab.errors import ParamsError

#: Points drawn per trace of a long series: enough for a 1,000-pixel-wide chart at two per pixel.
DISPLAY_POINTS = 2000


def display_positions(values: np.ndarray, max_points: int = DISPLAY_POINTS) -> np.ndarray:
    """Sorted positions of the points to draw: every point when there are at most ``max_points``.

    The first and last points are always kept; NaN values are allowed (never picked over a number).

    Raises:
        ParamsError: ``max_points`` below 3 (MinMaxLTTB keeps both ends and needs one bucket between).
    """
    if max_points < 3:
        raise ParamsError(f"max_points must be at least 3 to keep both ends of a series, got {max_points}")
    y = np.asarray(values, dtype=np.float64)
    if len(y) <= max_points:
        return np.arange(len(y))
    sampler = NaNMinMaxLTTBDownsampler() if np.isnan(y).any() else MinMaxLTTBDownsampler()
    return np.sort(sampler.downsample(y, n_out=max_points).astype(np.int64))
