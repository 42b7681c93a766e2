"""A throwaway PostgreSQL server for tests: initdb in a temp dir, loopback only, a free port.

Debian's server refuses to run as root, so as root it runs as the `postgres` user the package creates
(`runuser -u postgres`), in a temp dir that user owns. `start()` returns None and a reason when it
cannot start (binaries missing, no `postgres` user, initdb failed), and the caller skips with it.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    dir: Path
    port: int
    bindir: Path
    as_user: list[str]

    @property
    def url(self) -> str:
        return f"postgresql://tutor@127.0.0.1:{self.port}/postgres"

    def url_for(self, dbname: str) -> str:
        return f"postgresql://tutor@127.0.0.1:{self.port}/{dbname}"

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bindir / "pg_ctl"), "-D", str(self.dir / "data"), "-m", "immediate",
                        "stop"], capture_output=True, timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def start() -> tuple[PgServer | None, str]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        return None, "PostgreSQL binaries not found in /usr/lib/postgresql/*/bin (run: make postgres)"
    bindir = Path(found[-1]).parent
    as_user: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="tutor-pg-"))
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            return None, "running as root and there is no `postgres` user to run the server as"
        os.chown(root, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    steps = [
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "tutor", "--no-sync"],
        [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-t", "30", "-l", str(root / "log"), "-o",
         f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
    ]
    for cmd in steps:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            log = (root / "log").read_text(errors="replace")[-500:] if (root / "log").exists() else ""
            shutil.rmtree(root, ignore_errors=True)
            return None, f"PostgreSQL did not start: {cmd[len(as_user)]} failed: {(proc.stderr or proc.stdout)[-300:]} {log}"
    server = PgServer(root, port, bindir, as_user)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server, ""
        time.sleep(0.1)
    server.stop()
    return None, "PostgreSQL started but never accepted connections on 127.0.0.1"
