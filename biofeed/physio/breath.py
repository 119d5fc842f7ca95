"""Online breath detection from a respiration signal (belt, thermistor, any unit), causal and
chunk-size invariant.

Breath onset = start of inhalation = the trough of the respiration signal. The detector
follows the extremum-with-amplitude-threshold methods of Schäfer & Kratky (2008, "count-adv")
and Khodadad et al. (2018), which drop extrema whose excursion is below 0.3 times a typical
breath amplitude, turned into a causal form:

1. Dropouts (NaN, inf) are held at the last finite value.
2. Low-pass: 2nd-order Butterworth at :data:`LOWPASS_HZ` (1 Hz), state carried between
   chunks. Its group delay is almost flat over the breathing band (0.225-0.243 s from
   0 to 0.3 Hz at 32 Hz and above); the value at 0.2 Hz is subtracted from every onset.
3. Breath amplitude: the standard deviation of the low-passed signal over the last
   :data:`AMPLITUDE_WINDOW_S` (10 s; over the samples so far at the start), from running sums
   of the signal and its square. A sinusoid with that standard deviation has a peak-to-trough
   amplitude of ``2 sqrt(2) SD``. No extremum is confirmed in the first :data:`WARMUP_S` (2 s)
   while the estimate settles (with a near-zero threshold, the first ripples of a recording
   would pass for breaths).
4. Hysteresis: troughs and peaks of the low-passed signal are found alternately; the lowest
   (highest) point since the last peak (trough) is confirmed once the signal has risen (fallen)
   from it by more than ``h = THRESHOLD x amplitude`` (0.3, the fraction of Schäfer & Kratky 2008
   and Khodadad et al. 2018). Ripples smaller than ``h`` (noise, cardiac oscillations) are
   ignored, and baseline drift slower than a breath moves neither the extrema nor the threshold,
   so no baseline estimate is needed. The signal is not high-passed: the phase lead of a
   high-pass (about 1 s at 6 breaths/min for a 0.05 Hz Butterworth) would move the extrema.
5. Onset = confirmed trough, refined by a parabola through it and its two neighbours, minus the
   filter delay. A trough is reported when the signal has risen by ``h`` (about 1 s after it,
   at most 2.6 s in the simulated sessions and NeuroKit2's example recordings) and only if
   that takes at most :data:`MAX_RISE_S` (20 s), which bounds the look-ahead.

References
----------
Schäfer, A., & Kratky, K. W. (2008). Estimation of breathing rate from respiratory sinus
arrhythmia: comparison of various methods. Ann Biomed Eng 36(3), 476-485.
Khodadad, D., et al. (2018). Optimized breath detection algorithm in electrical impedance
tomography. Physiol Meas 39(9), 094001.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import signal as sps

from ..processor import Processor, check_input
from ..stream import Chunk, StreamInfo
from .filters import HoldLast, LinearFilter, MovingSum, SignalBuffer

__all__ = ["BreathDetector", "BreathProcessor", "breath_onsets"]

#: Low-pass cutoff, Hz.
LOWPASS_HZ = 1.0
#: Window of the amplitude estimate, s.
AMPLITUDE_WINDOW_S = 10.0
#: Start of the recording in which no extremum is confirmed, s.
WARMUP_S = 2.0
#: Hysteresis as a fraction of the peak-to-trough breath amplitude.
THRESHOLD = 0.3
#: Longest rise from a trough until it is confirmed, s; slower rises are not reported.
MAX_RISE_S = 20.0
#: Frequency at which the low-pass group delay is taken, Hz (12 breaths/min).
_DELAY_AT_HZ = 0.2
#: Signal scanned per step of the hysteresis search, s (about a breath or two: bounds the work
#: per confirmed extremum when a long record comes in one piece).
_BLOCK_S = 8.0
#: Buffer columns searched for their minimum when seeking a trough (y) and a peak (-y).
_TROUGH, _PEAK = 0, 1


class BreathDetector:
    """Causal breath-onset detector (see module notes).

    Feed consecutive samples with :meth:`update`; each call returns the onsets that became
    certain, as fractional sample positions (0 = first sample ever fed), increasing. The
    output does not depend on how the signal is cut into chunks; there is nothing to flush
    (an unconfirmed trough is not an onset).

    Parameters
    ----------
    fs : float
        Sampling rate, Hz (4-1000 Hz).

    Attributes
    ----------
    lookahead : float
        Longest delay between an onset and the last sample needed to report it, s.
    """

    def __init__(self, fs: float) -> None:
        if not 4.0 <= fs <= 1000.0:
            raise ValueError(f"respiration sampling rate must be 4-1000 Hz, got {fs!r}")
        self.fs = float(fs)
        self._fill = HoldLast()
        lowpass = sps.butter(2, LOWPASS_HZ, fs=fs)
        self._lowpass = LinearFilter(*lowpass)
        self._sum = MovingSum(round(AMPLITUDE_WINDOW_S * fs))
        self._sum2 = MovingSum(self._sum.n)
        self._ref = math.nan                  # first low-passed sample (keeps the sums small)
        self._delay = float(sps.group_delay(lowpass, w=[_DELAY_AT_HZ], fs=fs)[1][0])
        self._max_rise = round(MAX_RISE_S * fs)
        self._warmup = round(WARMUP_S * fs)
        self._block = round(_BLOCK_S * fs)
        self.lookahead = MAX_RISE_S + (self._delay + 0.5) / fs
        self._buf = SignalBuffer(columns=3)   # rows: low-passed signal y, -y, hysteresis h
        self._scan = 0                        # next sample to examine
        self._col = _PEAK                     # column whose minimum is sought: y (trough), -y
        self._cand = math.inf                 # that column's value at the candidate extremum
        self._cand_at = 0                     # the candidate's sample index

    def update(self, x) -> np.ndarray:
        """Consume the next samples (any unit, inhalation up); return newly certain onsets.

        Returns
        -------
        ndarray of float
            Onsets as fractional sample positions, delay-compensated, increasing.
        """
        x = self._fill(np.asarray(x, dtype=np.float64).reshape(-1))
        if not len(x):
            return np.empty(0)
        y = self._lowpass(x)
        n0 = self._buf.end
        if n0 == 0:
            self._ref = float(y[0])
        u = y - self._ref
        count = self._sum.n if n0 >= self._sum.n else np.minimum(
            np.arange(n0 + 1, n0 + len(x) + 1), self._sum.n)
        mean = self._sum(u) / count
        sd = np.sqrt(np.maximum(self._sum2(u * u) / count - mean * mean, 0.0))
        rows = self._buf.extend(len(x))
        rows[:, _TROUGH] = y
        rows[:, _PEAK] = -y
        rows[:, 2] = THRESHOLD * 2.0 * math.sqrt(2.0) * sd
        if n0 < self._warmup:
            rows[:self._warmup - n0, 2] = math.inf
        onsets = self._search()
        self._buf.discard_before(self._cand_at - 1)
        return np.asarray(onsets)

    def _search(self) -> list[float]:
        """Run the hysteresis over the samples not yet examined; returns confirmed onsets.

        Seeking a trough (peak) is seeking the minimum of column y (-y): the candidate is the
        lowest value since the last confirmed extremum, confirmed at the first sample more than
        h above the running minimum.
        """
        out: list[float] = []
        data, base, end = self._buf.data, self._buf.start, self._buf.end
        while self._scan < end:
            lo = self._scan - base
            seg = data[lo:lo + self._block, self._col]
            rise = np.minimum.accumulate(seg)
            np.minimum(rise, self._cand, out=rise)
            np.subtract(seg, rise, out=rise)
            over = rise > data[lo:lo + self._block, 2]
            k = int(over.argmax())
            hit = bool(over[k])
            if not hit:
                k = len(seg) - 1
            j = int(seg[:k + 1].argmin())
            if seg[j] < self._cand:
                self._cand, self._cand_at = float(seg[j]), base + lo + j
            if not hit:
                self._scan = base + lo + len(seg)
                continue
            at = base + lo + k                 # the extremum is certain at this sample
            if self._col == _TROUGH and at - self._cand_at <= self._max_rise:
                out.append(self._refine(data[:, _TROUGH], self._cand_at - base) - self._delay)
            # the opposite extremum so far: the most extreme sample since this one
            self._col = 1 - self._col
            span = data[self._cand_at - base:at - base + 1, self._col]
            j = int(span.argmin())
            self._cand, self._cand_at = float(span[j]), self._cand_at + j
            self._scan = at + 1
        return out

    def _refine(self, y: np.ndarray, i: int) -> float:
        """Sub-sample position of the trough at row ``i`` of ``y``: vertex of the parabola
        through rows ``i - 1 .. i + 1`` (row ``i + 1`` exists: the rise came after ``i``)."""
        base = self._buf.start + i
        if i < 1:
            return float(base)
        a, b, c = y[i - 1], y[i], y[i + 1]
        curvature = a - 2.0 * b + c
        if not curvature > 0:
            return float(base)
        return base + min(max(0.5 * (a - c) / curvature, -0.5), 0.5)


def breath_onsets(resp, fs: float) -> np.ndarray:
    """Breath onsets (start of inhalation) of a whole respiration record, seconds from its first
    sample: exactly what :class:`BreathDetector` reports live.

    Parameters
    ----------
    resp : array_like, shape (n,)
        Respiration, inhalation up (any unit).
    fs : float
        Sampling rate, Hz.
    """
    return BreathDetector(fs).update(resp) / float(fs)


def breath_stream_info(source: StreamInfo) -> StreamInfo:
    """The breath stream derived from respiration stream ``source``: ``{source}.breaths``."""
    return StreamInfo(f"{source.name}.breaths", "breath", "s", 0.0, ("breath_s",),
                      source.device, derived=True)


class BreathProcessor(Processor):
    """Engine processor: respiration stream ``X`` (kind ``"resp"``, regular, any unit) ->
    breath onsets ``X.breaths``.

    Output: kind ``"breath"``, irregular, one sample per onset (start of inhalation), stamped at
    the onset in session seconds; channel ``breath_s`` = the breath cycle ending at this onset
    (time since the previous onset, s), NaN when the previous onset is unknown (first breath,
    or first after a gap). A gap in the input (a chunk starting more than half a sample from
    where the last one ended) starts a new detector. Look-ahead: see :class:`BreathDetector`.

    Parameters
    ----------
    info : StreamInfo
        The respiration input stream.
    channel : int
        Which channel of the input to analyse.
    """

    def __init__(self, info: StreamInfo, channel: int = 0) -> None:
        check_input(info, "resp", channel)
        self.info, self.channel = info, channel
        self.inputs = (info.name,)
        self.outputs = (breath_stream_info(info),)
        self._detector: BreathDetector | None = None
        self._t0 = self._expected = 0.0       # session time of the detector's sample 0; next t0
        self._last = math.nan                 # previous onset of this detector, s

    def update(self, chunk: Chunk) -> list[Chunk]:
        if chunk.info.name != self.info.name:
            raise ValueError(f"BreathProcessor for {self.info.name!r} got a chunk of "
                             f"{chunk.info.name!r}")
        if not len(chunk):
            return []
        if self._detector is None or abs(chunk.t0 - self._expected) > 0.5 / self.info.rate:
            self._detector = BreathDetector(self.info.rate)
            self._t0, self._last = chunk.t0, math.nan
        self._expected = chunk.t_end
        onsets = self._t0 + self._detector.update(chunk.values[:, self.channel]) / self.info.rate
        if not onsets.size:
            return []
        cycle = onsets - np.concatenate(([self._last], onsets[:-1]))
        self._last = float(onsets[-1])
        return [Chunk(self.outputs[0], cycle, float(onsets[0]), onsets)]
