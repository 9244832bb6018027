"""Report pages: findings after the title, code hidden behind a toggle, stderr moved to one log section."""

from __future__ import annotations

import nbformat

from cryptexlab.reports import render_html

STDERR_BLOCK = 'data-mime-type="application/vnd.jupyter.stderr"'


def _executed(tmp_path):
    nb = nbformat.v4.new_notebook()
    code = nbformat.v4.new_code_cell("import warnings; warnings.warn('careful')\nprint('hello')")
    code.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: careful\n"),
        nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
        nbformat.v4.new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
            "text/plain": "  0%|          | 0/8 [00:00<?, ?it/s]"}),
    ]
    failing = nbformat.v4.new_code_cell("1 / 0")
    failing.outputs = [nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="division by zero",
                                              traceback=["ZeroDivisionError: division by zero"])]
    nb.cells = [nbformat.v4.new_markdown_cell("# 99 · Title"), code, failing]
    path = tmp_path / "99_test.ipynb"
    nbformat.write(nb, path)
    return path


def test_stderr_moves_to_one_collapsed_log_and_the_notebook_keeps_it(tmp_path) -> None:
    path = _executed(tmp_path)
    page = render_html(path, tmp_path / "99_test.html").read_text()
    assert page.count(STDERR_BLOCK) == 1  # only the traceback, which nbconvert draws the same way
    assert page.index(STDERR_BLOCK) < page.index("ZeroDivisionError: division by zero") < page.index("<details class=\"cx-log\">")
    assert '<details class="cx-log"><summary>Log: 1 message(s)' in page
    assert "[cell 2] UserWarning: careful" in page
    assert "hello" in page and "ZeroDivisionError" in page  # stdout and errors stay where they were
    assert "0/8 [00:00" not in page  # a progress widget without saved state is dropped
    kept = nbformat.read(path, as_version=4)
    assert kept.cells[1].outputs[0]["name"] == "stderr"  # the .ipynb is untouched


def test_no_log_section_without_stderr(tmp_path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# Title")]
    path = tmp_path / "n.ipynb"
    nbformat.write(nb, path)
    assert "cx-log" not in render_html(path, tmp_path / "n.html").read_text().split("</style>")[-1]


def test_findings_follow_the_title_and_code_has_a_toggle(tmp_path) -> None:
    page = render_html(_executed(tmp_path), tmp_path / "p.html",
                       headline={"best_mae_vs_random_walk": 1.0234567, "trials": 8}).read_text()
    title, findings = page.index("99 · Title"), page.index("Key figures of this run")
    assert title < findings < page.index("hello")
    assert "best mae vs random walk" in page and "1.02346" in page
    assert 'id="cx-code-toggle"' in page and ">show code</button>" in page
    assert "body:not(.cx-show-code) .jp-CodeCell .jp-Cell-inputWrapper { display: none !important; }" in page
    assert 'href="index.html"' in page
