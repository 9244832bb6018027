"""cryptexlab: tune Time-LLM style crypto forecasters and judge them honestly against a random walk.

Throughout the docstrings, **the design** is the hyperparameter optimisation system of the Time-LLM-Cryptex
Bitcoin forecaster that this workbench implements: its features (search modes, spaces, the Python API of
its examples, its analysis) are the feature list, and its performance figures are claims the benchmarks
measure. A *seed* is always a random seed. ARCHITECTURE.md maps the packages by layer.
"""
