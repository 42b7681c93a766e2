"""Files a learner names for the tutor to write (`interview --out`, `progress export`).

The name is checked before any work that would be lost if it were wrong (a whole mock interview), and
the file is written whole or not at all: into a temporary file beside it, then renamed over it.
"""

from __future__ import annotations

import os
import shlex
import tempfile
from pathlib import Path

from tutor.errors import UserError


def check_out_file(path: Path, command: str, example: str) -> Path:
    """`path` when a file can be written there, else a UserError naming the problem. `command` is how the
    file was given ("tutor interview --out"), `example` a file name that would do; both go into the fix."""
    if path.is_dir():
        raise UserError(f"{path} is a folder; {command} takes a file name",
                        fix=f"{command} {shlex.quote(str(path / example))}")
    folder = path.parent
    if not folder.is_dir():
        raise UserError(f"cannot write {path}: the folder {folder} does not exist",
                        fix=f"mkdir -p {shlex.quote(str(folder))}  (or give {command} another file)")
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserError(f"cannot write {path}: permission denied", fix=f"give {command} another file")
    return path


def write_whole(path: Path, text: str, fix: str | None = None) -> None:
    """Write `text` to `path` atomically; on failure (disk full) a UserError, and no file or the earlier
    one is left there. `fix` says what to do then."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise UserError(f"could not write {path} ({exc.strerror or exc})", fix=fix) from None
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, 0o666 & ~umask)  # as open() would make it, not mkstemp's private 0600
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"could not write {path} ({exc.strerror or exc}); nothing was written there",
                        fix=fix) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
