"""One `tutor ingest` at a time per index folder.

Two ingests writing the same index would each replace files the other just wrote; the manifest's
hashes would catch the mix at load, but the user would be left with a corrupt index. An advisory
`flock` on `<index>/.ingest.lock` makes the second one stop at once with a clear message (exit 2)
instead of waiting an unknown time behind the first. The kernel drops the lock when its holder exits,
so a killed ingest never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tutor.config import ingest_command
from tutor.errors import IngestRunning

LOCK_NAME = ".ingest.lock"


@contextmanager
def ingest_lock(index_dir: Path) -> Iterator[None]:
    """Hold the index folder's ingest lock for the block, or raise IngestRunning when it is taken."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "another process"
            raise IngestRunning(
                f"another `tutor ingest` (pid {holder}) is writing {index_dir}; this one changed nothing",
                fix=f"wait for it to finish, then run `{ingest_command(index_dir)}` again if you added files",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
