"""Shared helpers of the benchmark scripts: machine description and result writing."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import time
from pathlib import Path
from typing import Any

from cryptexlab.versions import package_versions

RESULTS = Path(__file__).resolve().parent / "results"


def machine() -> dict[str, Any]:
    """CPU, cores, memory, OS and Python of this machine."""
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1),
            "os": platform.platform(), "python": platform.python_version()}


def versions(*packages: str) -> dict[str, str]:
    """Installed versions of the named packages."""
    return package_versions(*packages)


def commit() -> str:
    """The repository's current commit (short), or 'unknown'."""
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              cwd=RESULTS.parent, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write(name: str, doc: dict[str, Any]) -> Path:
    """Write ``results/NAME.json`` with the machine, date and commit added."""
    RESULTS.mkdir(exist_ok=True)
    full = {"benchmark": name, "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commit": commit(),
            "machine": machine(), **doc}
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(full, indent=2) + "\n")
    return path
