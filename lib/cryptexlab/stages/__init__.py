"""The notebooks' back ends: one module per notebook question, on top of the library (nothing below imports them).

================  ============================================================================
module            notebook
================  ============================================================================
``notebook``      every notebook: set-up (offline plotly renderer), the data-source banner, budget lines
``search_report`` 02_search: Optuna's figures, trial and failure tables, the best trial beside the
                  baselines, the feature importance of a tabular best trial, the headline
``cv_study``      03_cv: the top configurations cross-validated (or a CV study read), tables, findings
``schedules``     04_schedules: the best configuration trained under each learning-rate schedule
``verdict``       06_verdict: the candidates judged on the test period, the rule and the paragraph
``ensemble``      06_verdict's top-k ensemble: weights on the simplex, fit on validation
================  ============================================================================

05_analysis reads stored studies through :mod:`cryptexlab.analysis`.
"""
