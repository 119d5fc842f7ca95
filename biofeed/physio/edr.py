"""ECG-derived respiration (EDR): R-peak amplitude, QRS area and RSA (Charlton et al. 2016).

Breathing moves the heart's electrical axis and changes the thoracic impedance, so the size of
each QRS complex follows the breath (Moody et al. 1985), and heart rate rises during
inspiration (respiratory sinus arrhythmia). Per beat found by the project's R-peak detector
(:class:`~biofeed.physio.ecg.RPeakDetector`):

- ``am``: QRS amplitude, highest minus lowest ECG within +-60 ms of the R peak, mV
  (independent of the lead's polarity);
- ``area``: QRS area, the integral over +-50 ms of the R peak of the ECG above the straight
  line joining the window's ends (which removes baseline wander), mV s (Moody et al. 1985);
- ``rsa``: heart rate ``60000 / NN`` (bpm) of the artifact-corrected NN series
  (:class:`~biofeed.physio.rr.NNProcessor`).

Each goes onto the 4 Hz grid, is band-passed 0.05-0.7 Hz and fused (see
:mod:`biofeed.physio.resp_derived`): signs set against the heart rate (which rises in
inspiration), weights by each modulation's spectral quality; rates per 60 s window by smart
fusion (Karlen et al. 2013).

References
----------
Moody, G. B., Mark, R. G., Zoccola, A., & Mantero, S. (1985). Derivation of respiratory
signals from multi-lead ECGs. Computers in Cardiology 12, 113-116.
Charlton, P. H., et al. (2016). Physiol Meas 37(4), 610-626.
"""
from __future__ import annotations

import math

import numpy as np

from .ecg import RPeakProcessor
from .filters import SignalBuffer
from .resp_derived import BeatDerivedRespProcessor, whole_record

__all__ = ["EdrProcessor", "edr", "ecg_features"]

#: Half-width of the QRS amplitude window, s.
AM_HALF_S = 0.060
#: Half-width of the QRS area window, s.
AREA_HALF_S = 0.050


def ecg_features(buf: SignalBuffer, i: int, prev: int, fs: float) -> tuple[float, float]:
    """QRS amplitude (mV) and area (mV s) of the beat at absolute sample ``i`` of ``buf``."""
    h = max(1, round(AM_HALF_S * fs))
    w = buf.window(i - h, i + h + 1, math.nan)
    am = float(np.max(w) - np.min(w)) if np.all(np.isfinite(w)) else math.nan
    a = max(1, round(AREA_HALF_S * fs))
    seg = buf.window(i - a, i + a + 1, math.nan)
    if not np.all(np.isfinite(seg)):
        return am, math.nan
    line = np.linspace(seg[0], seg[-1], seg.size)
    return am, float(np.sum(seg - line) / fs)


class EdrProcessor(BeatDerivedRespProcessor):
    """ECG ``X`` + its R-peaks + its NN stream -> ``X.edr`` (kind ``resp``, 4 Hz, channels
    ``resp, am, area, rsa``) and ``X.edr.rate`` (breaths/min per 60 s window, smart fusion of
    the three; see :class:`~biofeed.physio.resp_derived.BeatDerivedRespProcessor`)."""

    input_kind, suffix, method = "ecg", "edr", "EDR"
    names = ("am", "area", "rsa")
    post_s = max(AM_HALF_S, AREA_HALF_S) + 0.01
    features = staticmethod(ecg_features)


def edr(ecg_mv, fs: float, rr_correction: str = "automatic",
        rates: bool = False):
    """ECG-derived respiration of a whole record: exactly what the live pipeline gives.

    Runs :class:`~biofeed.physio.ecg.RPeakProcessor`, :class:`~biofeed.physio.rr.NNProcessor`
    and :class:`EdrProcessor` over the array.

    Parameters
    ----------
    ecg_mv : array_like, shape (n,)
        One ECG lead, mV.
    fs : float
        Sampling rate, Hz.
    rr_correction : str
        Artifact-correction level of the NN series (:data:`biofeed.physio.rr.LEVELS`).
    rates : bool
        Also return the rate table.

    Returns
    -------
    resp : ndarray
        Fused respiration (a.u., inhalation up) at ``fs_resp``, sample ``k`` at ``k / fs_resp``
        s from the first ECG sample; NaN before the first beats (and after the last).
    fs_resp : float
        4.0 Hz.
    table : pandas.DataFrame, only with ``rates=True``
        One row per 60 s window (``t_end_s``), the rate stream's channels.
    """
    return whole_record(np.asarray(ecg_mv, float).reshape(-1), fs, "ecg", RPeakProcessor,
                        EdrProcessor, "rpeaks", rr_correction, rates)
