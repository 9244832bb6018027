"""The optimisation analysis of 05_analysis: stored studies read (nothing trained) into convergence,
importance, distribution, correlation, Pareto, comparison, trial attributes, robustness, the
comprehensive report and the explorer.

Example:
    >>> from cryptexlab.analysis import generate_comprehensive_report
    >>> report = generate_comprehensive_report(["quick"])  # doctest: +SKIP
"""

from cryptexlab.analysis.report import AnalysisReport, generate_comprehensive_report

__all__ = ["AnalysisReport", "generate_comprehensive_report"]
