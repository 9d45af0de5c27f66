"""Errors a user can cause. The CLI prints them as one line and exits non-zero."""


class UserError(Exception):
    """Something the user can fix; the message says what to do."""

    exit_code = 1


class NotYetImplemented(UserError):
    exit_code = 2


class EngineUnavailable(UserError):
    def __init__(self, detail: str = ""):
        msg = "no Docker engine answers"
        if detail:
            msg += f" ({detail})"
        msg += ": start it with `sudo scripts/bootstrap-engine.sh` (or start Docker Desktop), then rerun"
        super().__init__(msg)
