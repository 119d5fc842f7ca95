"""PPG-derived respiration (PDR): pulse amplitude, intensity and frequency modulation
(Charlton et al. 2016; Karlen et al. 2013).

Breathing changes the stroke volume (pulse amplitude), the venous blood volume and tissue
perfusion under the sensor (the baseline, or intensity, of the PPG) and the heart rate (pulse
rate, RSA). Per pulse found by the project's pulse detector
(:class:`~biofeed.physio.ppg.PulseDetector`):

- ``amplitude`` (RIAV): the pulse peak minus the lowest PPG since the pulse before it (the
  foot of this pulse), PPG units;
- ``intensity`` (RIIV): the PPG at the pulse peak, PPG units;
- ``frequency`` (RIFV): pulse rate ``60000 / NN`` (bpm) of the artifact-corrected
  peak-to-peak intervals.

Then as for EDR (:mod:`biofeed.physio.resp_derived`): 4 Hz grid, 0.05-0.7 Hz band-pass,
fusion signed against the pulse rate, rates per 60 s window by smart fusion.

References
----------
Karlen, W., et al. (2013). IEEE Trans Biomed Eng 60(7), 1946-1953.
Charlton, P. H., et al. (2016). Physiol Meas 37(4), 610-626.
"""
from __future__ import annotations

import math

import numpy as np

from .filters import SignalBuffer
from .ppg import PulseProcessor
from .resp_derived import BeatDerivedRespProcessor, whole_record

__all__ = ["PdrProcessor", "pdr", "ppg_features"]

#: Longest span searched for a pulse's foot before its peak, s (used also for the first pulse).
FOOT_MAX_S = 1.0


def ppg_features(buf: SignalBuffer, i: int, prev: int, fs: float) -> tuple[float, float]:
    """Pulse amplitude and intensity (PPG units) of the pulse peak at absolute sample ``i``."""
    lo = max(prev + 1, i - round(FOOT_MAX_S * fs), buf.start)
    if lo >= i or i >= buf.end:
        return math.nan, math.nan
    seg = buf.window(lo, i + 1)
    peak = float(seg[-1])
    return peak - float(seg.min()), peak


class PdrProcessor(BeatDerivedRespProcessor):
    """PPG ``X`` + its pulse peaks + its NN stream -> ``X.pdr`` (kind ``resp``, 4 Hz,
    channels ``resp, amplitude, intensity, frequency``) and ``X.pdr.rate``; see
    :class:`~biofeed.physio.resp_derived.BeatDerivedRespProcessor`."""

    input_kind, suffix, method = "ppg", "pdr", "PDR"
    names = ("amplitude", "intensity", "frequency")
    post_s = 0.01
    features = staticmethod(ppg_features)


def pdr(ppg, fs: float, rr_correction: str = "automatic", rates: bool = False):
    """PPG-derived respiration of a whole record: what the live pipeline gives.

    Runs :class:`~biofeed.physio.ppg.PulseProcessor`, NN correction and :class:`PdrProcessor`
    over the array. Returns ``(resp, fs_resp)`` (and the rate table with ``rates=True``) as
    :func:`biofeed.physio.edr.edr` does.
    """
    return whole_record(np.asarray(ppg, float).reshape(-1), fs, "ppg", PulseProcessor,
                        PdrProcessor, "peaks", rr_correction, rates)
