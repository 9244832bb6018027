"""Hyperparameter search: spaces (functions of a trial), the Optuna tuner, the seed's Python API."""
