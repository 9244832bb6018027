"""Feature-set build time and memory on the real hourly file; window dataset memory vs window count.

    .venv/bin/python benchmarks/features.py   # writes benchmarks/results/features.json

Each feature set is built 3 times on ../shared/data/cryptex/candlesticks-h.csv (40,555 rows);
the median time and the peak Python allocation (tracemalloc) of one build are recorded. The
windows part compares, side by side, the bytes the lazy WindowDataset holds with the bytes a
materialised array of all windows would need, for several window lengths.
"""

from __future__ import annotations

import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import versions, write  # noqa: E402
from cryptexlab.data.candles import load_candles  # noqa: E402
from cryptexlab.data.features import FEATURE_SETS, FeatureOptions, build_features  # noqa: E402
from cryptexlab.data.windows import make_windows  # noqa: E402
from cryptexlab.params import DataConfig  # noqa: E402
from cryptexlab.paths import SHARED_DATA_DIR  # noqa: E402

REPEATS = 3


def main() -> None:
    path = SHARED_DATA_DIR / "candlesticks-h.csv"
    candles = load_candles(path).frame
    options = FeatureOptions(train_end=candles.index[int(len(candles) * 0.7) - 1])
    sets = {}
    for name in FEATURE_SETS:
        times = []
        for _ in range(REPEATS):
            start = time.perf_counter()
            feats = build_features(candles, name, options)
            times.append(time.perf_counter() - start)
        tracemalloc.start()
        build_features(candles, name, options)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        sets[name] = {"seconds_median": round(statistics.median(times), 3), "seconds_all": [round(t, 3) for t in times],
                      "peak_alloc_mib": round(peak / 2**20, 1), "features": len(feats.names),
                      "rows_after_warmup": len(feats.frame), "warmup_rows": feats.warmup_rows}
        print(f"{name:22s} {sets[name]['seconds_median']:6.2f} s  peak {sets[name]['peak_alloc_mib']:7.1f} MiB  "
              f"{len(feats.names)} features")

    enhanced = build_features(candles, "CRYPTEX_ENHANCED", options).frame
    windows = []
    for seq_len in (48, 96, 192, 384):
        w = make_windows(enhanced, DataConfig.model_validate({"windows": {"seq_len": seq_len, "pred_len": 24}}))
        n = len(w.train) + len(w.val) + len(w.test)
        held = w.train.values.nbytes
        materialised = n * seq_len * len(w.columns) * 4
        windows.append({"seq_len": seq_len, "windows": n, "dataset_bytes": held,
                        "materialised_bytes": materialised, "materialised_over_dataset": round(materialised / held, 1)})
        print(f"seq_len {seq_len:4d}: {n} windows, dataset {held / 2**20:.1f} MiB, "
              f"materialised would be {materialised / 2**20:.0f} MiB")
    out = write("features", {
        "configuration": {"file": str(path.name), "rows": len(candles), "repeats": REPEATS},
        "versions": versions("pandas", "numpy", "ta", "hmmlearn", "scikit-learn", "torch"),
        "feature_sets": sets,
        "enhanced_target_seconds": 10,
        "enhanced_within_target": sets["CRYPTEX_ENHANCED"]["seconds_median"] < 10,
        "window_memory": windows,
    })
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
