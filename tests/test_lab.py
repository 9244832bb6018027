"""``./workbench lab``: JupyterLab on the loopback address, rooted so that every notebook is listed."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TOKEN = "cryptexlab-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_workbench_lab_serves_every_notebook(tmp_path) -> None:
    if not (REPO / ".venv" / "bin" / "python").exists():
        pytest.skip("./workbench lab runs from the project's .venv (created by ./workbench test)")
    port = _free_port()
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"), "JUPYTER_CONFIG_DIR": str(tmp_path / "config")}
    proc = subprocess.Popen([str(REPO / "workbench"), "lab", "--port", str(port), f"--IdentityProvider.token={TOKEN}"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        first = proc.stdout.readline() if proc.stdout else ""
        assert first.startswith(f"JupyterLab on http://127.0.0.1:{port}/lab/tree/notebooks (pid {proc.pid};"), first
        listing = None
        for _ in range(180):
            time.sleep(0.5)
            try:
                url = f"http://127.0.0.1:{port}/api/contents/notebooks?token={TOKEN}"
                with urllib.request.urlopen(url, timeout=2) as resp:
                    listing = json.loads(resp.read())
                    break
            except OSError:
                assert proc.poll() is None, "JupyterLab exited before it answered"
        assert listing is not None, "JupyterLab did not answer within 90 s"
        names = {item["name"] for item in listing["content"]}
        assert {p.name for p in (REPO / "notebooks").glob("*.ipynb")} <= names
        assert "05_analysis.ipynb" in names
    finally:
        os.kill(proc.pid, signal.SIGTERM)  # the pid the command printed: it exec'd into jupyter
        proc.wait(timeout=30)
    assert proc.returncode == 0  # JupyterLab's own SIGTERM handler stopped it (-15: the signal killed a shell instead)
    with pytest.raises(ConnectionRefusedError):  # and nothing answers on its port any more
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
