"""biofeed: live HRV and EDA biofeedback, stress-response protocols, crash-safe recording."""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("biofeed")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

from .record.reader import Recording, Signal, read  # noqa: E402

__all__ = ["read", "Recording", "Signal", "__version__"]
