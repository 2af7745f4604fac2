"""One user-facing error base. Messages say what went wrong and what to do about it."""


class EyeauthError(Exception):
    """Base of every error a user may see. ``str(err)`` is one line: what happened, and the fix."""

    exit_code = 1


class UsageError(EyeauthError):
    """Bad arguments or configuration."""

    exit_code = 2


class LinkError(EyeauthError):
    """The serial link failed: port missing, cable pulled, board not answering."""

    exit_code = 3


class DeviceError(EyeauthError):
    """The board answered with an error (a command it rejected)."""

    exit_code = 4

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


class ModelError(EyeauthError):
    """A model file is corrupt, unsupported, or does not fit the board."""

    exit_code = 5


class DataError(EyeauthError):
    """Input data (images, audio, datasets, telemetry) is missing or malformed."""

    exit_code = 6
