"""The live HRV power spectrum: the last 120 s of NN intervals, LF and HF power and the
resonance peak, as HRV-biofeedback displays show it (Lehrer & Gevirtz 2014).

The NN series is resampled at 4 Hz by a natural cubic spline and its density estimated by
Welch's method (:mod:`biofeed.physio.spectrum`: 60 s Hann segments overlapping by half, each
linearly detrended; Welch 1967, Task Force 1996). The peak is the highest density in the
coherence peak band, 0.04-0.26 Hz (:data:`biofeed.physio.coherence.PEAK_BAND`; McCraty et al.
2009): at resonance breathing (about 6 breaths/min) it sits near 0.1 Hz, and its frequency in
breaths per minute is the breathing rate the heart follows. LF and HF are
:data:`biofeed.physio.hrv.BANDS`.

References
----------
Lehrer, P. M., & Gevirtz, R. (2014). Heart rate variability biofeedback: how and why does it
work? Frontiers in Psychology 5, 756.
McCraty, R., Atkinson, M., Tomasino, D., & Bradley, R. T. (2009). The coherent heart.
Integral Review 5(2), 10-115.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..physio.coherence import PEAK_BAND
from ..physio.hrv import BANDS
from ..physio.spectrum import RESAMPLE_HZ, resample_nn, welch_psd

#: NN history analysed, s.
SPECTRUM_S = 120.0
#: Shortest span of beats that gets a spectrum, s (one 60 s Welch segment).
MIN_SPAN_S = 60.0
#: Highest frequency shown, Hz.
MAX_HZ = 0.5


@dataclass(frozen=True)
class NNSpectrum:
    """Welch density of an NN series up to :data:`MAX_HZ`, with its LF / HF powers and peak."""

    f_hz: np.ndarray            #: frequencies, Hz
    psd_ms2_hz: np.ndarray      #: one-sided density, ms^2 / Hz
    peak_hz: float              #: highest density in the coherence peak band, Hz
    lf_ms2: float               #: power 0.04-0.15 Hz, ms^2
    hf_ms2: float               #: power 0.15-0.40 Hz, ms^2

    @property
    def peak_per_min(self) -> float:
        """The peak as a rate, cycles (breaths) per minute."""
        return 60.0 * self.peak_hz


def nn_spectrum(nn_ms) -> NNSpectrum | None:
    """The spectrum of an NN series (ms, consecutive intervals), or None when its beats span
    less than :data:`MIN_SPAN_S`."""
    nn = np.asarray(nn_ms, dtype=np.float64).reshape(-1)
    nn = nn[np.isfinite(nn) & (nn > 0)]
    if nn.size < 4 or float(nn[1:].sum()) / 1000.0 < MIN_SPAN_S:
        return None
    x = resample_nn(nn, RESAMPLE_HZ)
    f, p = welch_psd(x, RESAMPLE_HZ)
    df = float(f[1] - f[0])

    def power(band: tuple[float, float]) -> float:
        return float(p[(f >= band[0]) & (f < band[1])].sum() * df)

    in_band = np.flatnonzero((f >= PEAK_BAND[0]) & (f <= PEAK_BAND[1]))
    peak = float(f[in_band[np.argmax(p[in_band])]]) if in_band.size else math.nan
    shown = f <= MAX_HZ
    return NNSpectrum(f[shown], p[shown], peak, power(BANDS["lf"]), power(BANDS["hf"]))
