"""Hyperparameter search: spaces (functions of a trial), the Optuna tuner, the design's Python API."""
