"""Signal quality per sensor: is this stretch of ECG, PPG or EDA good enough to trust?

Every signal is rated in segments of :data:`SEGMENT_S` (10 s) that start every :data:`HOP_S`
(5 s; segments overlap by half, so a pulled electrode shows within 10 s). A segment is
``good`` when it meets every criterion of its sensor; ``score`` is the share of criteria met
(0-1; EDA: the share of valid samples). Segments are counted in samples from the stream's
first sample and stamped just after their last sample. Quality streams (``X.quality``, kind
``"quality"``) have no stream unit: each channel's name gives its unit (``hr_bpm``,
``max_rr_s``, ``min_us``, ...; ``good``, ``score``, ``rr_ratio``, ``template_r`` and
``skewness`` are dimensionless).

ECG and PPG beats are also rated one by one (``X.rpeaks.quality``, ``X.peaks.quality``): each
beat's correlation with the average beat of the segment that starts at its 5 s hop (the
template of the rule below; Orphanidou et al. 2015), so every beat is rated once.

ECG (:class:`EcgQuality`, on the R-peaks the beat detector reports, no second detector):
Orphanidou et al. (2015) rules on the beats inside the segment -- heart rate 40-180 bpm,
longest beat-to-beat interval under 3 s (the stretches from the segment's start to its first
beat and from its last beat to its end count as intervals too, so a segment without beats
fails) and mean correlation of each beat with the segment's average beat (template; window
one median RR interval centred on each R-peak) of at least 0.66 -- and a signal that does not
change for 1 s or more (a stuck or railed amplifier, a dropout; a documented choice) fails.
Their third rule, longest / shortest interval under 2.2, is reported (``rr_ratio``) but does
not make a segment poor: it rejects every segment of ventricular bigeminy (MIT-BIH 119: a
median ratio of 2.46 from the short coupling interval and the compensatory pause), whose
beats are real and are corrected in the NN stream (Lipponen & Tarvainen 2019); missed and
extra beats show in the template correlation and the longest interval.

PPG (:class:`PpgQuality`): the same beat-rate rules (rate, longest interval; ratio reported)
and stuck-signal rule on the pulse peaks, template correlation of at least 0.86 (Orphanidou
et al. 2015's PPG threshold), and the skewness of the PPG band-passed by a 4th-order
Chebyshev II filter at 0.5-8 Hz (Liang, Elgendi et al. 2018; template and skewness on that
signal) must be positive: skewness was the best of eight PPG quality indices in Elgendi (2016),
higher in better recordings; pulses with a steep systolic upstroke skew positive, symmetric
noise does not (Elgendi gives no cut-off; 0 is where the distribution stops leaning).

EDA (:class:`EdaQualityProcessor`): Kleckner et al. (2018) rules per sample -- conductance
outside 0.05-60 uS, or changing faster than 10 uS/s (measured over 1/8 s, the sampling interval
of the wrist sensors the rules were made for), or not finite -- invalidate the sample and the
5 s before and after it (transitions). ``score`` is the share of valid samples; ``good`` when
all are valid.

References
----------
Elgendi, M. (2016). Optimal signal quality index for photoplethysmogram signals.
Bioengineering 3(4), 21.
Kleckner, I. R., et al. (2018). Simple, transparent, and flexible automated quality assessment
procedures for ambulatory electrodermal activity data. IEEE Trans Biomed Eng 65(7), 1460-1467.
Lipponen, J. A., & Tarvainen, M. P. (2019). A robust algorithm for heart rate variability time
series artefact correction using novel beat classification. J Med Eng Technol 43(3), 173-181.
Liang, Y., Elgendi, M., et al. (2018). An optimal filter for short photoplethysmogram signals.
Sci Data 5, 180076.
Orphanidou, C., et al. (2015). Signal-quality indices for the electrocardiogram and
photoplethysmogram: derivation and applications to wireless monitoring. IEEE J Biomed Health
Inform 19(3), 832-838.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import signal as sps

from ..processor import Processor, check_input
from ..stream import Chunk, StreamInfo
from .beats import SampleTimes
from .filters import HoldLast, LinearFilter, SignalBuffer

__all__ = ["SEGMENT_S", "HOP_S", "MIN_GOOD_PCT", "ECG_CHANNELS", "PPG_CHANNELS",
           "EDA_CHANNELS", "EcgQuality", "PpgQuality", "EdaQualityProcessor", "ecg_quality",
           "ppg_quality", "eda_quality", "beat_rules", "template_correlation",
           "beat_correlations", "longest_flat_s"]

#: Length of a rated segment, seconds (Orphanidou et al. 2015).
SEGMENT_S = 10.0
#: Time between the starts of consecutive segments, seconds.
HOP_S = 5.0
#: Plausible heart rate, bpm (Orphanidou et al. 2015).
HR_RANGE_BPM = (40.0, 180.0)
#: Longest plausible beat-to-beat interval, s (Orphanidou et al. 2015).
MAX_RR_S = 3.0
#: Smallest mean beat-to-template correlation of good ECG (Orphanidou et al. 2015).
ECG_TEMPLATE_R = 0.66
#: Smallest mean beat-to-template correlation of good PPG (Orphanidou et al. 2015).
PPG_TEMPLATE_R = 0.86
#: A signal unchanged for this long (s) is stuck: a pulled electrode, a railed amplifier.
FLAT_S = 1.0
#: Valid skin conductance, uS (Kleckner et al. 2018).
EDA_RANGE_US = (0.05, 60.0)
#: Fastest valid change of skin conductance, uS/s (Kleckner et al. 2018).
EDA_MAX_SLOPE_US_S = 10.0
#: Time over which the EDA slope is measured, s.
EDA_SLOPE_SPAN_S = 1.0 / 8.0
#: Data this close to invalid EDA are invalid too, s (Kleckner et al. 2018).
EDA_TRANSITION_S = 5.0

#: A stretch of signal (a protocol phase, the last minute) with fewer good segments than this,
#: %, is flagged: its beat-based indices (HR, HRV) may rest on missed or false beats.
MIN_GOOD_PCT = 80.0

#: Channels of an ECG quality stream: good (1/0), score (share of criteria met, 0-1), heart
#: rate (bpm), longest interval (s), longest / shortest interval, mean beat-to-template
#: correlation, longest stuck stretch (s).
ECG_CHANNELS = ("good", "score", "hr_bpm", "max_rr_s", "rr_ratio", "template_r", "flat_s")
#: Channels of a PPG quality stream: as ECG (template of the band-passed PPG), and the
#: band-passed PPG's skewness.
PPG_CHANNELS = ("good", "score", "hr_bpm", "max_rr_s", "rr_ratio", "template_r", "skewness",
                "flat_s")
#: Channels of an EDA quality stream: good (1/0), score (share of valid samples, 0-1), lowest
#: and highest conductance (uS), steepest change (uS/s).
EDA_CHANNELS = ("good", "score", "min_us", "max_us", "max_slope_us_s")


def beat_rules(beats: np.ndarray, n: int, fs: float) -> tuple[float, float, float]:
    """Heart rate (bpm), longest interval (s) and longest / shortest interval of the beats
    (sample indices in ``[0, n)``) of an ``n``-sample segment at ``fs`` Hz.

    The longest interval includes the stretches from the segment's start to the first beat and
    from the last beat to the segment's end. Rate and ratio are NaN with fewer than two beats.
    """
    t = np.asarray(beats, dtype=np.float64) / fs
    rr = np.diff(t)
    gaps = np.diff(np.concatenate(([0.0], t, [n / fs])))
    if not len(rr):
        return math.nan, float(gaps.max()), math.nan
    return 60.0 / float(rr.mean()), float(gaps.max()), float(rr.max() / rr.min())


def template_correlation(x: np.ndarray, beats: np.ndarray) -> float:
    """Mean correlation of each beat of ``x`` with their average (Orphanidou et al. 2015).

    Each beat is the window of one median beat-to-beat interval centred on its sample index in
    ``beats``; beats whose window does not fit in ``x`` are left out. NaN with fewer than two
    beats that fit; 0 for a beat with no variation.
    """
    r = beat_correlations(x, beats)
    r = r[np.isfinite(r)]
    return float(r.mean()) if len(r) else math.nan


def beat_correlations(x: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """Correlation of each beat of ``x`` with the average of them all (one value per entry of
    ``beats``; windows as in :func:`template_correlation`; NaN where it does not fit, or for
    all with fewer than two beats that fit)."""
    out = np.full(len(beats), math.nan)
    if len(beats) < 2:
        return out
    half = int(np.median(np.diff(beats))) // 2
    fit = (beats >= half) & (beats + half < len(x))
    if fit.sum() < 2 or half < 1:
        return out
    rows = x[beats[fit][:, None] + np.arange(-half, half + 1)]
    rows = rows - rows.mean(axis=1, keepdims=True)
    template = rows.mean(axis=0)
    norms = np.sqrt(np.einsum("ij,ij->i", rows, rows) * float(template @ template))
    out[fit] = np.divide(rows @ template, norms, out=np.zeros(len(rows)), where=norms > 0)
    return out


def longest_flat_s(x: np.ndarray, fs: float) -> float:
    """Longest stretch of ``x`` without any change between consecutive samples, seconds."""
    same = np.concatenate(([False], x[1:] == x[:-1], [False]))
    edges = np.flatnonzero(same[1:] != same[:-1])
    if not len(edges):
        return 0.0
    return float((edges[1::2] - edges[::2]).max() + 1) / fs


class _BeatRater:
    """Segments of one beat signal rated once every beat in them is known (a
    :class:`~biofeed.physio.beats.BeatQuality`); subclasses give the criteria."""

    channels: tuple[str, ...] = ()
    #: Smallest mean beat-to-template correlation of a good segment.
    template_r: float

    def __init__(self, fs: float) -> None:
        self.fs = float(fs)
        self._hop = max(1, round(HOP_S * fs))
        self._len = max(2, round(SEGMENT_S * fs))
        self._fill = HoldLast()
        self._raw = SignalBuffer(columns=2)           # the signal, and what _prepare makes of it
        self._beats = np.empty(0, dtype=np.int64)
        self._next = 0                                # first sample of the next segment

    @property
    def pending_from(self) -> int:
        """First sample of the next segment to rate."""
        return self._next

    def update(self, x: np.ndarray, beats: np.ndarray,
               known: int) -> list[tuple[int, list[float], np.ndarray, np.ndarray]]:
        """See :class:`~biofeed.physio.beats.BeatQuality`."""
        x = self._fill(np.asarray(x, dtype=np.float64))
        if len(x):
            rows = self._raw.extend(len(x))
            rows[:, 0] = x
            rows[:, 1] = self._prepare(x)
        self._beats = np.concatenate((self._beats, beats))
        out = []
        while self._next + self._len <= min(known, self._raw.end):
            a, b = self._next, self._next + self._len
            lo, hi = np.searchsorted(self._beats, (a, b))
            beats = self._beats[lo:hi]
            values, r = self._rate(self._raw.window(a, b), beats - a)
            own = beats < a + self._hop         # each beat is rated in one segment
            out.append((b, values, beats[own], r[own]))
            self._next += self._hop
        self._raw.discard_before(self._next)
        self._beats = self._beats[np.searchsorted(self._beats, self._next):]
        return out

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        return x

    def _rate(self, seg: np.ndarray, beats: np.ndarray) -> tuple[list[float], np.ndarray]:
        """Values of one segment (rows: samples; columns: signal, prepared signal), and each
        beat's correlation with the segment's average beat."""
        hr, max_rr, ratio = beat_rules(beats, len(seg), self.fs)
        per_beat = beat_correlations(seg[:, 1], beats)
        finite = per_beat[np.isfinite(per_beat)]
        r = float(finite.mean()) if len(finite) else math.nan
        extra = self._extra(seg[:, 1])
        flat = longest_flat_s(seg[:, 0], self.fs)
        passed = [HR_RANGE_BPM[0] <= hr <= HR_RANGE_BPM[1], max_rr < MAX_RR_S,
                  r >= self.template_r, *self._extra_ok(extra), flat < FLAT_S]
        return [float(all(passed)), sum(passed) / len(passed), hr, max_rr, ratio, r, *extra,
                flat], per_beat

    def _extra(self, x: np.ndarray) -> list[float]:
        """Further measures of the segment's prepared signal."""
        return []

    def _extra_ok(self, values: list[float]) -> list[bool]:
        """Whether each further measure passes."""
        return []


class EcgQuality(_BeatRater):
    """ECG quality per segment from the signal and its R-peaks (Orphanidou et al. 2015; see
    the module); channels :data:`ECG_CHANNELS`. ``fs``: sampling rate, Hz."""

    channels = ECG_CHANNELS
    template_r = ECG_TEMPLATE_R


class PpgQuality(_BeatRater):
    """PPG quality per segment from the signal and its pulse peaks (skewness, Elgendi 2016;
    the beat-rate and template rules of Orphanidou et al. 2015; see the module); channels
    :data:`PPG_CHANNELS`. ``fs``: sampling rate, Hz."""

    channels = PPG_CHANNELS
    template_r = PPG_TEMPLATE_R

    def __init__(self, fs: float) -> None:
        super().__init__(fs)
        self._bandpass = LinearFilter(sos=sps.cheby2(4, 20, [0.5, min(8.0, 0.45 * fs)],
                                                     "bandpass", fs=fs, output="sos"))

    def _prepare(self, x: np.ndarray) -> np.ndarray:
        return self._bandpass(x)

    def _extra(self, x: np.ndarray) -> list[float]:
        d = x - x.mean()
        var = float(d @ d) / len(d)
        return [float(np.add.reduce(d * d * d)) / len(d) / var ** 1.5 if var > 0 else math.nan]

    def _extra_ok(self, values: list[float]) -> list[bool]:
        return [values[0] > 0]


class EdaQualityProcessor(Processor):
    """EDA quality per segment (Kleckner et al. 2018; see the module).

    Input: a regular EDA stream ``X`` (uS). Output ``X.quality`` (kind ``"quality"``,
    irregular, one sample per :data:`SEGMENT_S` segment every :data:`HOP_S`, stamped just
    after the segment's last sample; channels :data:`EDA_CHANNELS`). A segment is rated once
    the signal has reached :data:`EDA_TRANSITION_S` past its end (at the end of data, with
    what there is), so values do not depend on chunking.

    Parameters
    ----------
    info : StreamInfo
        The input stream (regular, kind ``"eda"``, uS).
    channel : int
        Which channel of the input to rate.
    """

    def __init__(self, info: StreamInfo, channel: int = 0) -> None:
        check_input(info, "eda", channel)
        self.info, self.channel, self.fs = info, channel, float(info.rate)
        self.inputs = (info.name,)
        self.outputs = (StreamInfo(f"{info.name}.quality", "quality", "", 0.0, EDA_CHANNELS,
                                   device=type(self).__name__, derived=True),)
        self._hop = max(1, round(HOP_S * self.fs))
        self._len = max(1, round(SEGMENT_S * self.fs))
        self._span = max(1, round(EDA_SLOPE_SPAN_S * self.fs))
        self._margin = round(EDA_TRANSITION_S * self.fs)
        # columns: conductance, invalid (1/0), |slope| uS/s
        self._buf = SignalBuffer(columns=3)
        self._tail = np.empty(0)                       # the last samples, for the slope
        self._times = SampleTimes(self.fs)
        self._next = 0

    def update(self, chunk: Chunk) -> list[Chunk]:
        if not len(chunk):
            return []
        x = chunk.values[:, self.channel]
        self._times.append(chunk.t0, len(x))
        ext = np.concatenate((self._tail, x))
        slope = np.zeros(len(x))                     # 0 until one span of signal exists
        first = max(len(self._tail), self._span)     # first sample with a span before it
        if first < len(ext):
            step = np.abs(ext[first:] - ext[first - self._span:-self._span])
            slope[first - len(self._tail):] = step * (self.fs / self._span)
        self._tail = ext[-self._span:]
        with np.errstate(invalid="ignore"):
            bad = ~np.isfinite(x) | (x < EDA_RANGE_US[0]) | (x > EDA_RANGE_US[1]) \
                | (slope > EDA_MAX_SLOPE_US_S)
        rows = self._buf.extend(len(x))
        rows[:, 0], rows[:, 1], rows[:, 2] = x, bad, slope
        return self._rate(self._buf.end - self._margin)

    def flush(self) -> list[Chunk]:
        return self._rate(self._buf.end, final=True)

    def _rate(self, ready: int, final: bool = False) -> list[Chunk]:
        ends, rows = [], []
        while self._next + self._len <= (self._buf.end if final else ready):
            a, b = self._next, self._next + self._len
            m = self._margin
            win = self._buf.window(a - m, b + m)
            bad = np.concatenate(([0.0], np.cumsum(win[:, 1])))
            # invalid within m samples of each sample of [a, b): any bad in [i - m, i + m]
            near = bad[2 * m + 1:] - bad[:self._len]
            seg = win[m:m + self._len]
            finite = seg[np.isfinite(seg[:, 0]), 0]
            score = float(np.count_nonzero(near == 0)) / self._len
            rows.append([float(score == 1.0), score,
                         float(finite.min()) if len(finite) else math.nan,
                         float(finite.max()) if len(finite) else math.nan,
                         float(np.nanmax(seg[:, 2])) if np.isfinite(seg[:, 2]).any() else math.nan])
            ends.append(b)
            self._next += self._hop
        self._buf.discard_before(self._next - self._margin)
        self._times.discard_before(self._next)
        if not rows:
            return []
        times = self._times.times(np.array(ends) - 1) + 1.0 / self.fs
        return [Chunk(self.outputs[0], np.array(rows), float(times[0]), timestamps=times)]


def _rate_beats(processor, x: np.ndarray) -> np.ndarray:
    """The quality rows a beat processor with a rater gives for a whole record."""
    out = processor.update(Chunk(processor.info, np.asarray(x, dtype=np.float64), 0.0))
    out += processor.flush()
    rows = [c.values for c in out if c.info.name == processor.outputs[2].name]
    return np.vstack(rows) if rows else np.empty((0, len(processor.outputs[2].channels)))


def ecg_quality(ecg: np.ndarray, fs: float) -> np.ndarray:
    """Quality of a whole ECG record: one row per segment, columns :data:`ECG_CHANNELS`
    (segment ``k`` covers seconds ``[k * HOP_S, k * HOP_S + SEGMENT_S)``), exactly what the
    pipeline records live (R-peaks from :class:`~biofeed.physio.ecg.RPeakDetector`)."""
    from .ecg import RPeakProcessor

    proc = RPeakProcessor(StreamInfo("ecg", "ecg", "mV", float(fs)), quality=EcgQuality(fs))
    return _rate_beats(proc, ecg)


def ppg_quality(ppg: np.ndarray, fs: float) -> np.ndarray:
    """Quality of a whole PPG record: one row per segment, columns :data:`PPG_CHANNELS`
    (segments as in :func:`ecg_quality`; peaks from
    :class:`~biofeed.physio.ppg.PulseDetector`)."""
    from .ppg import PulseProcessor

    proc = PulseProcessor(StreamInfo("ppg", "ppg", "a.u.", float(fs)), quality=PpgQuality(fs))
    return _rate_beats(proc, ppg)


def eda_quality(eda: np.ndarray, fs: float) -> np.ndarray:
    """Quality of a whole EDA record (uS): one row per segment, columns :data:`EDA_CHANNELS`
    (segments as in :func:`ecg_quality`)."""
    proc = EdaQualityProcessor(StreamInfo("eda", "eda", "uS", float(fs)))
    out = proc.update(Chunk(proc.info, np.asarray(eda, dtype=np.float64), 0.0)) + proc.flush()
    return np.vstack([c.values for c in out]) if out else np.empty((0, len(EDA_CHANNELS)))
