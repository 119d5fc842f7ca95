"""Skin conductance responses (SCRs) found online in the phasic driver of EDA.

The phasic driver is skin conductance deconvolved by the Bateman impulse response and minus
its tonic part (see :mod:`biofeed.physio.eda`). Each SCR is a burst in the driver; its
individual response is the burst convolved back with the Bateman function, which separates
responses that overlap in the conductance itself (Alexander et al. 2005; Benedek & Kaernbach
2010). Amplitude, peak and rise time are read off that individual response; half-recovery is
read off the phasic conductance restarted at the SCR onset, so earlier responses' recovery tails
do not shorten it. The smallest SCR follows the noise floor, measured on the bursts of the
negated phasic driver, which noise makes and SCRs do not (:class:`ScrDetector`), and is never
below a floor (0.01 uS by default: Boucsein et al. 2012).

References
----------
Alexander, D. M., et al. (2005). Separating individual skin conductance responses in a short
interstimulus-interval paradigm. J Neurosci Methods 146(1), 116-123.
Benedek, M., & Kaernbach, C. (2010). A continuous measure of phasic electrodermal activity.
J Neurosci Methods 190(1), 80-91.
Boucsein, W., et al. (2012). Publication recommendations for electrodermal measurements.
Psychophysiology 49(8), 1017-1034.
Zhang, Y., et al. (2008). Model-based analysis of ChIP-Seq (MACS). Genome Biol 9, R137
(false discoveries estimated from the swapped, signal-free side).
"""
from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from .tonic import IMPULSE_REACH_S

#: A driver burst ends at the first local minimum below this fraction of its peak; shallower
#: dips are noise inside one burst, and the next rise starts a new SCR.
SPLIT_FRACTION = 0.5
#: The individual response takes the driver until the first local minimum below this fraction
#: of the peak (or until the next SCR starts).
CUT_FRACTION = 0.1
#: An SCR onset is timed where its driver burst crosses this fraction of its height, minus the
#: time the filtered driver of an ideal response takes to get there.
ONSET_FRACTION = 0.1
#: Columns of :func:`scr_table`, in order.
SCR_COLUMNS = ("onset_s", "peak_s", "amplitude_us", "rise_time_s", "half_recovery_s",
               "min_amplitude_us")


def bateman_coefficients(fs: float, tau_rise_s: float, tau_decay_s: float) -> tuple[float, float, float]:
    """Poles and gain of the sampled Bateman impulse response ``exp(-t/tau_d) - exp(-t/tau_r)``.

    Parameters
    ----------
    fs : float
        Sampling rate, Hz.
    tau_rise_s, tau_decay_s : float
        Rise and decay time constants, seconds (Alexander et al. 2005 use 0.75 and 2 s).

    Returns
    -------
    a1, a2, c : float
        Poles ``exp(-1 / (fs tau))`` and the gain ``(1 - a1)(1 - a2)`` that gives the filter
        ``c / ((1 - a1 z^-1)(1 - a2 z^-1))`` unit gain at 0 Hz.
    """
    if not 0 < tau_rise_s < tau_decay_s:
        raise ValueError(f"expected 0 < tau_rise_s < tau_decay_s (seconds), got {tau_rise_s}, {tau_decay_s}")
    a1 = float(np.exp(-1.0 / (fs * tau_rise_s)))
    a2 = float(np.exp(-1.0 / (fs * tau_decay_s)))
    return a1, a2, (1.0 - a1) * (1.0 - a2)


@dataclass(frozen=True)
class Scr:
    """One skin conductance response, in samples of the EDA stream (0 = its first sample).

    ``onset`` is fractional (interpolated); ``peak`` is corrected for the low-pass delay;
    ``half_recovery`` is a duration in samples (NaN when the response did not recover to half
    its amplitude in time); ``min_amplitude`` is the smallest amplitude that was accepted when
    this SCR was (uS; see :class:`ScrDetector`).
    """

    onset: float
    peak: int
    amplitude: float
    half_recovery: float
    min_amplitude: float


class _Candidate:
    """A driver burst whose amplitude is not decided yet."""

    __slots__ = ("start", "peak", "peak_value", "end", "cut", "onset", "first", "y_peak", "amplitude",
                 "min_amplitude")

    def __init__(self, start: int, peak: int, peak_value: float) -> None:
        self.start, self.peak, self.peak_value = start, peak, peak_value
        self.end: int | None = None    # burst over: later rises are new SCRs
        self.cut: int | None = None    # driver samples [first, cut) make the individual response
        self.onset = float(start)      # refined onset, fractional samples
        self.first = start             # first driver sample of the individual response
        self.y_peak = -1
        self.amplitude = np.nan
        self.min_amplitude = np.nan


def _extrema(q: np.ndarray, start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Local extrema of ``q`` (absolute index of q[0] is ``start``): indices, values, and
    whether each is a maximum (rising or level before it, falling or level after: a plateau
    counts once, at its first sample). The extrema of ``-q`` are the same with maxima and
    minima swapped."""
    left, mid, right = q[:-2], q[1:-1], q[2:]
    is_max = (left < mid) & (mid >= right)
    idx = np.flatnonzero(is_max | ((left > mid) & (mid <= right)))
    return idx + (start + 1), mid[idx], is_max[idx]


class _Bursts:
    """Bursts of a driver and the amplitude of each one's individual response, online.

    See :class:`ScrDetector` for the parameters (in samples here) and the rules; a burst is
    decided once it has ended or ``max_burst`` samples passed its peak, in the order of the
    bursts, whatever the chunking.
    """

    def __init__(self, b: np.ndarray, a: np.ndarray, max_burst: int, sep: int, tail: int,
                 lag: float) -> None:
        self._b, self._a = b, a
        self._max_burst, self._sep, self._tail, self._lag = max_burst, sep, tail, lag
        self.n = 0                       # samples received
        self._buf = np.empty(0)          # driver history kept for pending work
        self._buf0 = 0                   # absolute index of _buf[0]
        self._last_min = 0
        self._cands: list[_Candidate] = []

    def update(self, p: np.ndarray, extrema: tuple[np.ndarray, np.ndarray, np.ndarray],
               final: bool = False) -> list[_Candidate]:
        """Consume driver samples; return the bursts decided by now, in order.

        ``extrema`` are the local extrema of the driver up to the last of these samples that
        were not known before, from :func:`_extrema`: absolute indices, values, and whether
        each is a maximum.
        """
        if p.size:
            self._buf = np.concatenate([self._buf, p])
            self.n += p.size
            self._scan(*extrema)
        decided = []
        while self._cands:
            c = self._cands[0]
            if c.cut is None and self.n >= c.peak + self._max_burst + 1:
                c.cut = c.peak + self._max_burst
            if c.cut is not None:
                cut = c.cut
            elif final:
                cut = self.n
            else:
                break
            self._cands.pop(0)
            self._decide(c, cut)
            decided.append(c)
        return decided

    def open_from(self) -> int | None:
        """Absolute index of the first undecided burst's start (None when there is none)."""
        return self._cands[0].start if self._cands else None

    def trim(self, hold: int | None) -> None:
        """Forget driver samples no undecided burst needs, nor any from ``hold`` on."""
        keep = min([self._last_min, self.n - 2] + [c.start for c in self._cands]
                   + ([hold] if hold is not None else []))
        if keep > self._buf0:
            self._buf = self._buf[keep - self._buf0:]
            self._buf0 = keep

    def segment(self, lo: int, hi: int) -> np.ndarray:
        """Driver samples ``lo .. hi - 1`` (absolute indices, still kept)."""
        return self._buf[lo - self._buf0:hi - self._buf0]

    def response(self, lo: int, hi: int) -> np.ndarray:
        """Driver samples ``lo .. hi - 1`` convolved with the Bateman response (zero state)."""
        return lfilter(self._b, self._a, self.segment(lo, hi))

    def _scan(self, index: np.ndarray, value: np.ndarray, is_max: np.ndarray) -> None:
        """Walk local extrema: absolute indices, values, and whether each is a maximum."""
        for k, v, mx in zip(index.tolist(), value.tolist(), is_max.tolist()):
            for c in self._cands:
                if c.cut is None and k > c.peak + self._max_burst:
                    c.cut = c.peak + self._max_burst
                    c.end = c.cut if c.end is None else c.end
            cur = self._cands[-1] if self._cands and self._cands[-1].end is None else None
            if mx:
                if cur is not None:
                    if v > cur.peak_value:
                        cur.peak, cur.peak_value = k, v
                elif v > 0:
                    for c in self._cands:
                        c.cut = self._last_min if c.cut is None else c.cut
                    self._cands.append(_Candidate(self._last_min, k, v))
            else:
                self._last_min = k
                for c in self._cands:
                    if c.cut is None and v <= CUT_FRACTION * c.peak_value and k >= c.peak + self._sep:
                        c.cut = k
                if cur is not None and v < SPLIT_FRACTION * cur.peak_value and k >= cur.peak + self._sep:
                    cur.end = k

    def _decide(self, c: _Candidate, cut: int) -> None:
        """Onset and amplitude of the individual response of the burst ending at ``cut``."""
        rise = self.segment(c.start, c.peak + 1)
        base = max(float(rise[0]), 0.0)
        level = base + ONSET_FRACTION * (c.peak_value - base)
        j = int(np.flatnonzero(rise <= level)[-1])
        crossing = c.start + j + (level - rise[j]) / (rise[j + 1] - rise[j])
        c.onset = max(float(c.start), crossing - self._lag)
        c.first = int(np.floor(c.onset))
        seg = np.concatenate([self.segment(c.first, max(cut, c.first)), np.zeros(self._tail)])
        y = lfilter(self._b, self._a, seg)
        k = int(np.argmax(y))
        c.y_peak, c.amplitude = c.first + k, float(y[k])


class ScrDetector:
    """Online SCR detection in the phasic driver, chunk-size invariant.

    Parameters
    ----------
    fs : float
        Sampling rate, Hz.
    bateman : tuple of float
        ``(a1, a2, c)`` from :func:`bateman_coefficients`.
    min_amplitude_us : float
        Smallest SCR reported whatever the noise, uS (Boucsein et al. 2012: 0.01 uS for
        computer scoring).
    max_burst_s : float
        Longest a driver burst may last after its peak and still count as one response,
        seconds.
    recovery_window_s : float
        How long after the peak half-recovery is looked for, seconds.
    peak_shift : int
        Delay of the low-pass filters, samples; subtracted from peak times.
    onset_lag : float
        Samples the filtered driver of an ideal response takes to reach ``ONSET_FRACTION`` of
        its peak; subtracted from the crossing time to give the onset.
    min_separation_s : float
        A burst cannot end sooner than this after its driver peak, seconds: later bumps in
        that time (driver ripple when the Bateman time constants do not fit the person)
        belong to the same SCR.
    noise_factor : float
        The smallest SCR is also ``noise_factor`` times the noise floor (see Notes); 0 turns
        the noise floor off.
    noise_bursts : int
        Number of the latest bursts of the negated driver the noise floor is the median of.

    Attributes
    ----------
    min_amplitude_range : tuple of float
        Lowest and highest smallest amplitude applied to a driver burst so far, uS ((inf,
        -inf) before the first).

    Notes
    -----
    Noise floor: SCRs are positive bursts of the phasic driver, noise makes bursts of both
    signs alike. The same burst finder runs on the negated phasic driver, whose bursts are
    noise only (a sign-flip null distribution, as in the control-swap FDR estimate of Zhang
    et al. 2008), and their amplitudes are measured exactly as SCR amplitudes are: through the
    same filters, at any sampling rate and whatever the colour of the noise, as long as it is
    as likely to go down as up. The noise floor
    is the median amplitude of the latest ``noise_bursts`` of them, and the smallest SCR
    accepted is ``max(min_amplitude_us, noise_factor * noise floor)``, with the bursts that
    peaked at least ``max_burst_s`` before the SCR's driver peak (all of them decided by then,
    so the threshold does not depend on chunking; before the first one, ``min_amplitude_us``).
    Negated bursts peaking within :data:`biofeed.physio.tonic.IMPULSE_REACH_S` after an
    accepted SCR's driver peak are left out: they are the negative lobe of that response
    (faster than the Bateman model), not noise.

    Decisions depend only on sample indices and values: an SCR's amplitude is decided once the
    driver burst has ended (or ``max_burst_s`` passed), its half-recovery once it is reached,
    the next accepted SCR starts, or ``recovery_window_s`` passed. SCRs are emitted in onset
    order at that point, at most about ``max_burst_s + recovery_window_s`` after the peak.

    References
    ----------
    Zhang, Y., et al. (2008). Model-based analysis of ChIP-Seq (MACS). Genome Biol 9, R137.
    """

    def __init__(self, fs: float, bateman: tuple[float, float, float], min_amplitude_us: float,
                 max_burst_s: float, recovery_window_s: float, peak_shift: int,
                 onset_lag: float, min_separation_s: float, noise_factor: float = 0.0,
                 noise_bursts: int = 31) -> None:
        a1, a2, c = bateman
        b, a = np.array([c]), np.array([1.0, -(a1 + a2), a1 * a2])
        self._floor = float(min_amplitude_us)
        self._factor = float(noise_factor)
        self._max_burst = max(2, int(round(max_burst_s * fs)))
        # after its burst the individual response peaks within tau_decay (the kernel's own peak
        # time ln(tau_d/tau_r) tau_r tau_d / (tau_d - tau_r) is shorter than tau_decay)
        tail = int(np.ceil(-1.0 / np.log(a2))) + 1
        parts = (b, a, self._max_burst, int(round(min_separation_s * fs)), tail, float(onset_lag))
        self._bursts = _Bursts(*parts)
        self._mirror = _Bursts(*parts) if self._factor > 0 else None
        self._recovery = max(1, int(round(recovery_window_s * fs)))
        self._shift = int(peak_shift)
        self._n = 0                                              # samples received
        self._last = np.empty(0)          # last <= 2 samples, for extrema across chunks
        self._noise_queue: list[_Candidate] = []                 # decided, not yet counted
        self._noise: deque[float] = deque(maxlen=int(noise_bursts))
        self._reach = int(np.ceil(IMPULSE_REACH_S * fs))
        self._accepted: deque[int] = deque()                     # driver peaks of recent SCRs
        self._pending: list[_Candidate] = []
        self.min_amplitude_range = (np.inf, -np.inf)            # over every decided burst, uS

    # -- public -------------------------------------------------------------------------
    def update(self, p: np.ndarray) -> list[Scr]:
        """Consume phasic driver samples (uS); return the SCRs completed so far."""
        return self._step(np.asarray(p, dtype=np.float64), final=False)

    def flush(self) -> list[Scr]:
        """End of data: decide every burst with the data there is and return the rest."""
        out = self._step(np.empty(0), final=True)
        self._pending = []
        return out

    def min_amplitude(self, peak: int) -> float:
        """Smallest SCR accepted for a driver burst peaking at sample ``peak``, uS."""
        while self._noise_queue and self._noise_queue[0].peak + self._max_burst <= peak:
            m = self._noise_queue.pop(0)
            while self._accepted and self._accepted[0] < m.peak - self._reach:
                self._accepted.popleft()
            if not (self._accepted and self._accepted[0] <= m.peak):   # not an SCR's lobe
                self._noise.append(m.amplitude)
        if not self._noise:
            return self._floor
        return max(self._floor, self._factor * statistics.median(self._noise))

    # -- internals ------------------------------------------------------------------------
    def _step(self, p: np.ndarray, final: bool) -> list[Scr]:
        q = np.concatenate([self._last, p])
        extrema = _extrema(q, self._n - self._last.size)
        self._n += p.size
        self._last = q[-2:]
        if self._mirror is not None:
            index, value, is_max = extrema
            self._noise_queue += self._mirror.update(-p, (index, -value, ~is_max), final)
            self._mirror.trim(None)
        lo, hi = self.min_amplitude_range
        for c in self._bursts.update(p, extrema, final):
            c.min_amplitude = self.min_amplitude(c.peak)
            lo, hi = min(lo, c.min_amplitude), max(hi, c.min_amplitude)
            if c.amplitude >= c.min_amplitude:
                self._pending.append(c)
                self._accepted.append(c.peak)
        self.min_amplitude_range = (lo, hi)
        out = []
        while self._pending:
            scr = self._recover(self._pending[0], final)
            if scr is None:
                break
            out.append(scr)
            self._pending.pop(0)
        self._bursts.trim(min((c.first for c in self._pending), default=None))
        return out

    def _recover(self, c: _Candidate, final: bool) -> Scr | None:
        """Half-recovery of a pending SCR, or None while it is still open."""
        n = self._bursts.n
        bound = c.y_peak + self._recovery
        if len(self._pending) > 1:
            bound = min(bound, self._pending[1].first)
        blocker = self._bursts.open_from()
        blocked = blocker is not None and blocker < bound
        hi = min(n, bound)
        crossing = None
        peak = max(c.first, c.y_peak - self._shift)
        if hi > c.y_peak:
            y = self._bursts.response(c.first, hi)
            below = np.flatnonzero(y[c.y_peak - c.first:] <= 0.5 * c.amplitude)
            if below.size and below[0] == 0:   # data already below half at the model peak
                return Scr(c.onset, peak, c.amplitude, np.nan, c.min_amplitude)
            if below.size:
                crossing = c.y_peak + int(below[0])
        if crossing is not None and not (blocked and blocker < crossing) or final:
            half = float(crossing - c.y_peak) if crossing is not None else np.nan
        elif n >= bound and not blocked:
            half = np.nan
        else:
            return None
        return Scr(c.onset, peak, c.amplitude, half, c.min_amplitude)


def scr_columns(scrs: list[Scr], fs: float, t0: float = 0.0) -> dict[str, np.ndarray]:
    """SCRs in seconds (times from ``t0``): one array per column of :data:`SCR_COLUMNS`."""
    onset = np.array([s.onset for s in scrs], dtype=np.float64) / fs + t0
    peak = np.array([s.peak for s in scrs], dtype=np.float64) / fs + t0
    return {
        "onset_s": onset,
        "peak_s": peak,
        "amplitude_us": np.array([s.amplitude for s in scrs], dtype=np.float64),
        "rise_time_s": peak - onset,
        "half_recovery_s": np.array([s.half_recovery for s in scrs], dtype=np.float64) / fs,
        "min_amplitude_us": np.array([s.min_amplitude for s in scrs], dtype=np.float64),
    }


def scr_table(scrs: list[Scr], fs: float, t0: float = 0.0) -> pd.DataFrame:
    """SCRs as a table in seconds (times from ``t0``), columns :data:`SCR_COLUMNS`."""
    return pd.DataFrame(scr_columns(scrs, fs, t0), columns=list(SCR_COLUMNS))
