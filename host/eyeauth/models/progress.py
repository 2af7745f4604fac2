"""Progress for model work: the one mechanism of :mod:`eyeauth.progress` (kept importable here
for the modules that report through ``eyeauth.models.progress.Steps`` / ``note``)."""
from eyeauth.progress import Steps, enable, note  # noqa: F401
