"""biofeed: live HRV and EDA biofeedback, stress-response protocols, crash-safe recording."""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("biofeed")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"

from .physio.acc_resp import acc_resp  # noqa: E402
from .physio.coherence import coherence  # noqa: E402
from .physio.ecg import ecg_peaks  # noqa: E402
from .physio.eda import eda  # noqa: E402
from .physio.edr import edr  # noqa: E402
from .physio.hrv import hrv  # noqa: E402
from .physio.pdr import pdr  # noqa: E402
from .physio.ppg import ppg_peaks  # noqa: E402
from .physio.rr import clean_rr  # noqa: E402
from .record.reader import Recording, Signal, read  # noqa: E402

__all__ = ["read", "Recording", "Signal", "ecg_peaks", "ppg_peaks", "clean_rr", "hrv",
           "coherence", "eda", "edr", "pdr", "acc_resp", "__version__"]
