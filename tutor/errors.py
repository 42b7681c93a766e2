"""User-facing exceptions.

Anything a user can cause or fix is one of these: the CLI prints the message (and the fix) on stderr
and exits with `exit_code`, never a traceback. Everything else is a bug and may raise.
"""

from __future__ import annotations


class TutorError(Exception):
    """Base class; `fix` is the command or action that resolves the problem."""

    exit_code = 1

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message


class UserError(TutorError):
    """Bad input: an empty or oversized question, an unknown option, a malformed file."""

    exit_code = 1


class CorpusError(UserError):
    """A corpus file (card, document, golden set) is malformed; the message names file and line."""


class EnvironmentProblem(TutorError):
    """Something missing or broken around the code: index, model, server. Exit code 2."""

    exit_code = 2


class IndexMissing(EnvironmentProblem):
    pass


class IndexStale(EnvironmentProblem):
    pass


class IndexCorrupt(EnvironmentProblem):
    pass


class ModelNotInstalled(EnvironmentProblem):
    pass


class MissingExtra(EnvironmentProblem):
    """An optional dependency is absent; says which extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"the optional package `{package}` is not installed",
            fix=f"pip install -e '.[{extra}]'  (or: make install)",
        )


class BackendUnavailable(EnvironmentProblem):
    """An LLM backend is down, slow or misconfigured; callers may fall back to extractive."""


class StoreLocked(EnvironmentProblem):
    """The progress database stayed locked by another program longer than we wait."""


class StoreUnavailable(EnvironmentProblem):
    """The progress database cannot be opened or reached (PostgreSQL down, unreadable file, newer schema)."""
