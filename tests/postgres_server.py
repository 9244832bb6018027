"""A real PostgreSQL server for tests: Debian's binaries, a cluster in a temporary folder, 127.0.0.1, a free port.

PostgreSQL refuses to run as root; as root the cluster belongs to the ``postgres`` user that
Debian's package creates, and the commands run through ``runuser``. ``./workbench test`` installs
the package when it is missing (``.ci/run`` calls it).
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def binary(name: str) -> str:
    """The path of a PostgreSQL program (Debian keeps them in /usr/lib/postgresql/<version>/bin)."""
    found = shutil.which(name) or next(iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is missing: install Debian's postgresql package "
                           "(apt-get install postgresql; ./workbench test does it as root)")
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """initdb, start, stop and restart one cluster; ``url`` is its SQLAlchemy URL (database ``optuna``).

    The cluster lives in its own folder under the system's temporary directory (pytest's folders are
    private to root, and the ``postgres`` user could not enter them); :meth:`remove` deletes it.
    """

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="cryptexlab-pg-"))
        self.data, self.port = self.folder / "data", free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.folder, "postgres")
        self._run(binary("initdb"), "-D", str(self.data), "-U", "optuna", "--auth=trust", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://optuna@127.0.0.1:{self.port}/optuna"

    def start(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} -c fsync=off"
        self._run(binary("pg_ctl"), "-D", str(self.data), "-o", opts, "-l", str(self.folder / "log"), "-w", "start")

    def create_database(self) -> None:
        self._run(binary("createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "optuna", "optuna")

    def stop(self) -> None:
        self._run(binary("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        subprocess.run([*self.as_user, binary("pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                       capture_output=True, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _run(self, *cmd: str) -> None:
        done = subprocess.run([*self.as_user, *cmd], capture_output=True, text=True, timeout=60, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}): {done.stderr or done.stdout}")
