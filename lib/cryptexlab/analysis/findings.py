"""The findings of an analysis in words, built from its numbers (05_analysis opens with them).

Example:
    >>> print(findings_markdown(report))  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from cryptexlab.analysis.report import AnalysisReport


def _g(x: float | None) -> str:
    return "n/a" if x is None or x != x else f"{x:.4g}"  # x != x: NaN


def study_finding(name: str, s: dict[str, Any]) -> str:
    """One paragraph on one study: size, best value and interval, convergence, importance, sensitivity."""
    states = s["states"]
    counts = ", ".join(f"{v} {k.lower()}" for k, v in sorted(states.items()))
    c, imp, rob = s["convergence"], s["importance"], s["robustness"]
    lo, hi = rob["best_ci"]
    if not c["completed"]:
        return f"**{name}** ({s['metric']}; {s['trials']} trials: {counts}): no completed trial, nothing to analyse."
    parts = [f"**{name}** ({s['metric']}, {s['direction']}; {s['trials']} trials: {counts}): best {_g(rob['best'])} "
             f"at trial {rob['best_trial']}, bootstrap 95% interval of the best {_g(lo)} to {_g(hi)}."]
    if c["completed"] < 5:
        parts.append(f"Only {c['completed']} completed trials: too few for a convergence fit.")
    elif c["method"] == "fit" and c["fit"] is not None:
        f = c["fit"]
        where = (f"reached 95% of its improvement at trial {c['point_trial']}" if c["converged"]
                 else f"has not reached 95% of its improvement yet (due near completed trial {c['point_n']:.0f})")
        parts.append(f"Convergence: the fitted decay (tau {f['tau']:.3g} trials, R² {f['r2']:.2f}) {where}; "
                     f"{100 * c['late_improvement_share']:.0f}% of the improvement came in the last fifth of the trials.")
    elif c["method"] == "flat":
        parts.append("The best value never improved after the first completed trial.")
    else:
        parts.append(f"Convergence (empirical rule, no usable fit): 95% of the improvement by trial {c['point_trial']}.")
    top = imp["top"]
    if imp["agree_on_top"]:
        parts.append(f"All three importance measures put `{top['fanova']}` first.")
    elif top:
        named = {"fanova": "fANOVA", "ped_anova": "PED-ANOVA", "correlation": "the correlation ranking"}
        parts.append("Importance: " + ", ".join(f"{named[m]} puts `{p}` first" for m, p in top.items())
                     + (f"; they disagree on {', '.join(f'`{p}`' for p in imp['disagree'])}." if imp["disagree"] else "."))
    elif c["completed"] >= 2:
        parts.append("Too few completed trials for parameter importance.")
    sens = rob["most_sensitive"]
    if sens:
        parts.append(f"Moving `{sens['parameter']}` to a neighbouring tried value changes the score by {_g(sens['worst_change'])}, "
                     "the most of any parameter.")
    if "pareto" in s:
        parts.append(f"{s['pareto']['trials_on_front']} trials are on the Pareto front.")
    return " ".join(parts)


def findings_markdown(report: AnalysisReport) -> str:
    """Every study's paragraph, then the comparison when there are several studies."""
    out = [study_finding(name, s) for name, s in report.summary["studies"].items()]
    for g in report.summary.get("comparison", {}).get("groups", []):
        verdict = ("their bootstrap intervals overlap, so the difference may be luck in which configurations were tried"
                   if g["intervals_overlap"] else "their bootstrap intervals do not overlap")
        data = ("" if g["same_data"] else " (data unknown for one of them)" if g["same_data"] is None
                else " (on different data: compare with care)") + (
            " (one is cross-validated over folds, the other scored on the validation period: the values measure "
            "different things)" if g["mixed_scoring"] else "")
        out.append(f"**Comparison ({g['metric']}):** `{g['best_study']}` has the best value ({_g(g['best'])}), "
                   f"`{g['runner_up']}` the next ({_g(g['runner_up_best'])}){data}; {verdict}.")
    return "\n\n".join(out)


def headline(report: AnalysisReport) -> dict[str, Any]:
    """Key figures for the report's header: studies, trials, and the first study's best, convergence, top parameter."""
    studies = report.summary["studies"]
    first = next(iter(studies.values()), None)
    return {"studies": len(studies), "trials": sum(s["trials"] for s in studies.values()),
            "first_study": next(iter(studies), None),
            "best_value": first["robustness"]["best"] if first else None,
            "converged": first["convergence"]["converged"] if first else None,
            "top_parameter": (first["importance"]["top"].get("fanova") or first["importance"]["top"].get("ped_anova"))
            if first else None,
            "importance_methods_agree": first["importance"]["agree_on_top"] if first else None,
            "analysis_seconds": round(report.summary["seconds"].get("total", 0.0), 2)}
