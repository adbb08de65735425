"""The one error type the project raises for problems a user can fix."""


class ExplorerError(Exception):
    """Something the user can act on; the message says what went wrong and what to do."""


class CheckpointError(ExplorerError):
    """A checkpoint is missing, truncated, corrupt, or does not match its config."""


class TrainingDiverged(ExplorerError):
    """The loss became NaN or infinite; training stopped and nothing was saved."""
