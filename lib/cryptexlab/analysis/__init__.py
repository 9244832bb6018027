"""Study analysis: the search notebook's figures and tables (:mod:`.study`) and the optimisation
analysis of 05_analysis (convergence, importance, distribution, correlation, Pareto, comparison,
trial attributes, robustness, the comprehensive report and the explorer).

Example:
    >>> from cryptexlab.analysis import generate_comprehensive_report
    >>> report = generate_comprehensive_report(["quick"])  # doctest: +SKIP
"""

from cryptexlab.analysis.report import AnalysisReport, generate_comprehensive_report
from cryptexlab.analysis.study import (
    BASELINE_KINDS,
    compare_with_baselines,
    comparison_figure,
    failures_table,
    study_figures,
    trials_table,
)

__all__ = [
    "BASELINE_KINDS",
    "AnalysisReport",
    "compare_with_baselines",
    "comparison_figure",
    "failures_table",
    "generate_comprehensive_report",
    "study_figures",
    "trials_table",
]
