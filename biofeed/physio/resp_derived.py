"""Respiration derived from other signals: the shared parts (Charlton et al. 2016; Karlen et al.
2013).

A breathing signal can be read from the way breathing modulates another signal: the amplitude
and area of each heart beat in the ECG, the amplitude, intensity and rate of each pulse in the
PPG (:mod:`biofeed.physio.edr`, :mod:`biofeed.physio.pdr`), or the tilt of the chest wall seen
by an accelerometer (:mod:`biofeed.physio.acc_resp`). This module holds what they share:

- :class:`GridResampler`: a beat-by-beat series (one value per beat) linearly interpolated onto
  an even grid at :data:`FS_HZ` (4 Hz) of session time, a grid sample given out once a beat at
  or after it is known (so it is causal and chunk-size invariant);
- :func:`resp_band`: the breathing band-pass, 0.05-0.7 Hz (Charlton et al. 2016: a first-order
  high-pass at 0.05 Hz and a second-order Butterworth low-pass at 0.7 Hz, state carried);
- :func:`window_rate`: breathing rate and a quality in one window, from the highest peak of
  the spectrum between 4 and 42 breaths/min (Karlen et al. 2013 estimate each modulation's
  rate from its spectrum);
- :func:`fuse_rates`: Karlen et al. (2013) "smart fusion": the modulations whose estimates
  agree (standard deviation at most :data:`AGREE_PER_MIN`, 4 breaths/min) give the rate, the
  mean of theirs; when they do not agree there is no estimate;
- :class:`ModulationFusion`: per :data:`HOP_S` (10 s) of grid, the rate and quality of every
  modulation over the last :data:`WINDOW_S` (60 s), their fused rate, and one breathing
  waveform: the modulations scaled to unit SD, signed to agree with an anchor modulation whose
  sign is physiological (heart rate rises during inspiration, Hirsch & Bishop 1981) and
  weighted by quality;
- :class:`BeatDerivedRespProcessor`: the engine processor of beat-derived respiration (EDR,
  PDR): the raw signal, its beat stream and its NN stream in, a respiration stream (kind
  ``resp``) and a rate stream (kind ``resp_rate``) out.

References
----------
Charlton, P. H., et al. (2016). An assessment of algorithms to estimate respiratory rate from
the electrocardiogram and photoplethysmogram. Physiol Meas 37(4), 610-626.
Karlen, W., Raman, S., Ansermino, J. M., & Dumont, G. A. (2013). Multiparameter respiratory
rate estimation from the photoplethysmogram. IEEE Trans Biomed Eng 60(7), 1946-1953.
Hirsch, J. A., & Bishop, B. (1981). Respiratory sinus arrhythmia in humans: how breathing
pattern modulates heart rate. Am J Physiol 241(4), H620-H629.
Tobin, M. J., et al. (1983). Breathing patterns. 1. Normal subjects. Chest 84(2), 202-205.
"""
from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
from scipy import signal as sps

from ..processor import Processor, check_input
from ..stream import Chunk, StreamInfo
from .filters import HoldLast, LinearFilter, SignalBuffer

__all__ = ["FS_HZ", "WINDOW_S", "HOP_S", "GridResampler", "resp_band", "window_rate",
           "fuse_rates", "rise_asymmetry", "ModulationFusion", "BeatDerivedRespProcessor",
           "rate_stream_info"]

#: Rate of the derived respiration grid, Hz.
FS_HZ = 4.0
#: Breathing band, Hz (Charlton et al. 2016).
BAND_HZ = (0.05, 0.7)
#: Breathing rates searched for the spectral peak, breaths/min.
RATE_RANGE_PER_MIN = (4.0, 42.0)
#: Window of the rate estimates, s; a new estimate every HOP_S.
WINDOW_S = 60.0
HOP_S = 10.0
#: Shortest window for which weights, signs and rates are computed at the start, s.
MIN_WINDOW_S = 20.0
#: Quality at which a modulation's rate counts (share of the band power within 2/T Hz of the
#: spectral peak: about 0.1 for white noise in a 60 s window, 1 for a pure sinusoid).
MIN_QUALITY = 0.25
#: Karlen et al. (2013): estimates agree when their SD is at most this, breaths/min.
AGREE_PER_MIN = 4.0
#: Inhalation up: inspiration is the shorter, faster part of a breath at rest (Ti/Ttot about
#: 0.4; Tobin et al. 1983), so a breathing signal rises faster than it falls; a window whose
#: falls are steeper (:func:`rise_asymmetry` below minus this, 10 %) is inverted (breaths with
#: inhale:exhale near 1:1 leave the sign as it was).
ASYMMETRY_FLIP = 0.1
#: Heart rate lags breathing by 0 (at 6 breaths/min) up to about a quarter of a breath at
#: faster breathing (Hirsch & Bishop 1981; Vaschillo et al. 2002): the sign against it is read
#: at the delay, up to this share of its breath cycle, that correlates best.
MAX_LAG_CYCLES = 0.3
#: The heart rate joins the waveform's timing when its delay behind the other modulations is
#: at most this share of its cycle (45 degrees).
IN_PHASE_CYCLES = 0.125
#: A modulation's sign is set from its correlation with the anchor when it is at least this
#: large (about 2.7 standard errors for 60 s of two independent 0.05-0.7 Hz signals).
SIGN_MIN_R = 0.3
_NFFT = 4096
#: Signal kept for beats still to come, s (beat detectors report a beat within 3 s).
KEEP_S = 6.0
#: Grid samples (2 s) given out at a time by the beat-derived processors.
_EMIT_LEAST = 8


def rise_asymmetry(x: np.ndarray) -> float:
    """How much faster ``x`` rises than it falls: ``log(median rise / median fall)`` of its
    sample-to-sample slopes (0 when either is missing). Medians, so movement bursts and noise
    (which rise and fall alike) barely move it."""
    return rise_asymmetry_of(np.diff(np.asarray(x, float)))


def rise_asymmetry_of(d: np.ndarray) -> float:
    """:func:`rise_asymmetry` of given slopes ``d``."""
    d = np.asarray(d, float)
    up, down = d[d > 0], -d[d < 0]
    if up.size < 2 or down.size < 2:
        return 0.0
    return float(np.log(np.median(up) / np.median(down)))


def resp_band(fs: float) -> LinearFilter:
    """The breathing band-pass at sampling rate ``fs`` (Hz): first-order high-pass at 0.05 Hz
    times second-order Butterworth low-pass at 0.7 Hz, causal with carried state.

    Phase at 0.1 / 0.2 / 0.33 Hz (6 / 12 / 20 breaths/min): about +15 / -10 / -30 degrees
    (the high-pass lead and the low-pass lag largely cancel in the breathing band).
    """
    hp = sps.butter(1, BAND_HZ[0], "highpass", fs=fs, output="sos")
    lp = sps.butter(2, min(BAND_HZ[1], 0.45 * fs), fs=fs, output="sos")
    return LinearFilter(sos=np.vstack((hp, lp)))


class GridResampler:
    """A beat-by-beat series linearly interpolated onto the grid ``k / fs`` (s).

    :meth:`add` takes beats (times s increasing, values); :meth:`take` returns the grid samples
    now known: every grid time between the first beat and the newest one (a grid time equal to
    a beat time takes that beat's value). A beat not later than the previous one is ignored.
    """

    def __init__(self, fs: float = FS_HZ) -> None:
        self.fs = float(fs)
        self._t = np.empty(0)
        self._v = np.empty(0)
        self.next = None                      # next grid index to give out

    def add(self, t: np.ndarray, v: np.ndarray) -> None:
        """Append beats at times ``t`` (s) with values ``v``; non-finite values are skipped."""
        t, v = np.asarray(t, float), np.asarray(v, float)
        ok = np.isfinite(t) & np.isfinite(v)
        t, v = t[ok], v[ok]
        if self._t.size:
            keep = t > self._t[-1]
            t, v = t[keep], v[keep]
        if t.size:
            # a beat within the run that does not increase is dropped
            inc = np.concatenate(([True], np.diff(t) > 0))
            self._t = np.concatenate((self._t, t[inc]))
            self._v = np.concatenate((self._v, v[inc]))
            if self.next is None:
                self.next = math.ceil(self._t[0] * self.fs - 1e-9)

    @property
    def known(self) -> int:
        """Grid index just after the last grid sample that can be given out."""
        if self.next is None:
            return -(1 << 62)
        return math.floor(self._t[-1] * self.fs + 1e-9) + 1

    def take(self, upto: int | None = None) -> tuple[int, np.ndarray]:
        """(first grid index, values) of the grid samples now known, below ``upto`` if given."""
        if self.next is None:
            return 0, np.empty(0)
        end = self.known if upto is None else min(self.known, upto)
        k0 = self.next
        if end <= k0:
            return k0, np.empty(0)
        g = np.arange(k0, end) / self.fs
        out = np.interp(g, self._t, self._v)
        self.next = end
        keep = max(int(np.searchsorted(self._t, end / self.fs, side="right")) - 1, 0)
        self._t, self._v = self._t[keep:], self._v[keep:]
        return k0, out


def window_rate(x: np.ndarray, fs: float) -> tuple[float, float]:
    """Breathing rate (breaths/min) and quality (0-1) of one window of a respiration signal.

    The rate is the highest peak of the Hann-windowed, linearly detrended periodogram between
    :data:`RATE_RANGE_PER_MIN` (zero-padded to 4096 points, parabolic interpolation); the quality
    is the share of the band's power within ``2 / T`` Hz of the peak (the Hann main lobe of a
    window of ``T`` s), which is about 1 for a steady breathing rhythm and 4 / (T x band width)
    (0.1 at 60 s) for white noise. NaN and 0 for windows shorter than 4 s, without power, or
    whose highest point in the band is not a peak of the whole spectrum (the edge of the slow
    decline that a posture change, a step or a drift leaves).
    """
    x = np.asarray(x, dtype=np.float64)
    n = x.size
    if n < 4 * fs or not np.all(np.isfinite(x)):
        return math.nan, 0.0
    y = sps.detrend(x) * np.hanning(n)
    nfft = max(_NFFT, 1 << math.ceil(math.log2(n)))
    p = np.abs(np.fft.rfft(y, nfft)) ** 2
    f = np.fft.rfftfreq(nfft, 1.0 / fs) * 60.0
    band = np.flatnonzero((f >= RATE_RANGE_PER_MIN[0]) & (f <= RATE_RANGE_PER_MIN[1]))
    pb = p[band]
    total = float(pb.sum())
    if not total > 0:
        return math.nan, 0.0
    j = int(pb.argmax())
    k = band[j]
    if not (p[k - 1] < p[k] and (k + 1 >= len(p) or p[k + 1] < p[k])):
        return math.nan, 0.0        # the band's edge of a slope (a step, a drift), no rhythm
    rate = float(f[k])
    if 0 < j < len(pb) - 1:
        a, b, c = pb[j - 1], pb[j], pb[j + 1]
        den = a - 2 * b + c
        if den < 0:
            rate += 0.5 * (a - c) / den * float(f[1] - f[0])
    lobe = 2.0 / (n / fs) * 60.0
    near = np.abs(f[band] - f[k]) <= lobe
    return rate, float(pb[near].sum() / total)


def fuse_rates(rates: Sequence[float], qualities: Sequence[float],
               min_sources: int = 2) -> tuple[float, int]:
    """Karlen et al. (2013) smart fusion of per-modulation rates (breaths/min).

    Of the modulations with quality >= :data:`MIN_QUALITY`, the largest set (at least
    ``min_sources``) whose rates have a standard deviation (n - 1) of at most
    :data:`AGREE_PER_MIN` is used (ties: the set of higher summed quality); the fused rate is
    the mean of its rates. Returns ``(rate, mask)``: ``mask`` has bit ``i`` set when
    modulation ``i`` was used; ``(nan, 0)`` when no set agrees.
    """
    r = np.asarray(rates, float)
    q = np.asarray(qualities, float)
    ok = [i for i in range(r.size) if np.isfinite(r[i]) and q[i] >= MIN_QUALITY]
    best, best_key = None, None
    for mask in range(1, 1 << len(ok)):
        members = [ok[b] for b in range(len(ok)) if mask >> b & 1]
        if len(members) < min_sources:
            continue
        sd = float(np.std(r[members], ddof=1)) if len(members) > 1 else 0.0
        if sd > AGREE_PER_MIN:
            continue
        key = (len(members), float(q[members].sum()))
        if best_key is None or key > best_key:
            best, best_key = members, key
    if best is None:
        return math.nan, 0
    return float(r[best].mean()), int(sum(1 << i for i in best))


def rate_stream_info(name: str, modulations: Sequence[str], device: str) -> StreamInfo:
    """The rate stream of a derived respiration: kind ``resp_rate``, one sample per
    :data:`HOP_S`, channels ``rate_per_min`` (fused, breaths/min), ``sources`` (bit i = the
    i-th modulation was used), ``n_sources``, then ``{m}_rate_per_min`` and ``{m}_quality`` for
    every modulation ``m``."""
    channels = ["rate_per_min", "sources", "n_sources"]
    for m in (["resp"] if len(modulations) > 1 else []) + list(modulations):
        channels += [f"{m}_rate_per_min", f"{m}_quality"]
    return StreamInfo(name, "resp_rate", "breaths/min", 0.0, tuple(channels), device,
                      derived=True)


class ModulationFusion:
    """Band-passed modulations on the grid -> one breathing waveform and rates per window.

    Feed consecutive grid rows (one column per modulation, already band-passed) with
    :meth:`update`, the first at grid index ``k0``. Every :data:`HOP_S` of grid (at grid
    indices that are multiples of the hop, so independent of chunking) the last
    :data:`WINDOW_S` (at least :data:`MIN_WINDOW_S`) give each modulation's rate and quality
    (:func:`window_rate`), its SD, and its sign. The modulations other than the anchor (in
    phase or in antiphase with breathing: amplitudes, areas, intensities) take their signs
    from their correlation with the best of them (when it reaches :data:`MIN_QUALITY` and the
    correlation's size :data:`SIGN_MIN_R`), and all are inverted when the slope of their
    weighted sum falls faster than it rises (:data:`ASYMMETRY_FLIP`: inhalation up). The waveform at each row is
    ``sum(w_i s_i y_i / sd_i) / sum(w_i)`` with the weights ``w_i`` = qualities of the last
    hop before it (equal weights before the first). The anchor (heart rate, +1: it rises in
    inspiration) lags breathing by a rate-dependent phase (Hirsch & Bishop 1981), so it
    gets no weight while another modulation reaches :data:`MIN_QUALITY`.

    Parameters
    ----------
    names : sequence of str
        Modulation names (columns).
    anchor : int or None
        Column whose sign is physiological; None: every sign is +1.
    min_sources : int
        Passed to :func:`fuse_rates` (1 for a single modulation).
    fs : float
        Grid rate, Hz.
    """

    def __init__(self, names: Sequence[str], anchor: int | None, min_sources: int = 2,
                 fs: float = FS_HZ) -> None:
        self.names, self.anchor, self.min_sources, self.fs = tuple(names), anchor, min_sources, fs
        m = len(self.names)
        self._hop = round(HOP_S * fs)
        self._win = round(WINDOW_S * fs)
        self._min = round(MIN_WINDOW_S * fs)
        self._buf = SignalBuffer(columns=m)
        self._first: int | None = None
        self._w = np.ones(m)
        self._sd = np.ones(m)
        self._sign = np.ones(m)

    def update(self, k0: int, rows: np.ndarray) -> tuple[np.ndarray, list[tuple[int, list[float]]]]:
        """Rows (n, m) at grid indices ``k0 .. k0 + n - 1`` -> (waveform (n,), rate rows).

        Rate rows are ``(grid index just after the window, values)`` with the values of
        :func:`rate_stream_info`'s channels, one per hop whose window is full (60 s).
        """
        if self._first is None:
            self._first = k0
            self._buf.start = k0
        out = np.empty(len(rows))
        rates: list[tuple[int, list[float]]] = []
        i = 0
        while i < len(rows):
            k = k0 + i
            nxt = (k // self._hop + 1) * self._hop          # next hop boundary after k
            j = min(len(rows), i + nxt - k)
            seg = rows[i:j]
            self._buf.append(seg)
            out[i:j] = (seg * (self._sign * self._w / self._sd)).sum(axis=1) / self._w.sum()
            if k0 + j == nxt:
                rate = self._hop_stats(nxt)
                if rate is not None:
                    rates.append((nxt, rate))
            i = j
        self._buf.discard_before(self._buf.end - self._win)
        return out, rates

    def _hop_stats(self, end: int) -> list[float] | None:
        data = self._buf.data[-self._win:]
        if len(data) < self._min:
            return None
        m = len(self.names)
        rq = [window_rate(data[:, c], self.fs) for c in range(m)]
        q = np.array([x[1] for x in rq])
        sd = data.std(axis=0)
        self._sd = np.where(sd > 0, sd, 1.0)
        self._w = np.maximum(q, 1e-3)
        mech = [c for c in range(m) if c != self.anchor]
        ref = max(mech, key=lambda c: q[c]) if mech else None
        if ref is not None and q[ref] >= MIN_QUALITY:
            for c in mech:
                if c != ref and sd[c] > 0 and sd[ref] > 0:
                    r = float(np.corrcoef(data[:, c], data[:, ref])[0, 1])
                    if abs(r) >= SIGN_MIN_R:
                        self._sign[c] = math.copysign(1.0, r) * self._sign[ref]
            wave = (data[:, mech] * (self._sign * self._w / self._sd)[mech]).sum(axis=1)
            if self.anchor is not None:
                w_anchor, self._w[self.anchor] = self._w[self.anchor], 1e-3
                if q[self.anchor] >= MIN_QUALITY and sd[self.anchor] > 0 and wave.std() > 0:
                    cycle = 60.0 / rq[self.anchor][0] * self.fs
                    r, lag = _lagged_r(wave, data[:, self.anchor], round(MAX_LAG_CYCLES * cycle))
                    if r <= -SIGN_MIN_R:          # heart rate rises in inspiration
                        self._sign[mech] = -self._sign[mech]
                    if abs(r) >= SIGN_MIN_R and lag <= IN_PHASE_CYCLES * cycle:
                        self._w[self.anchor] = w_anchor      # in phase: it helps the timing
            elif rise_asymmetry(wave) < -ASYMMETRY_FLIP:
                self._sign[mech] = -self._sign[mech]
        if len(data) < self._win:
            return None
        if m > 1:       # the fused waveform of this window is one more estimate
            wave = (data * (self._sign * self._w / self._sd)).sum(axis=1)
            rq = [window_rate(wave, self.fs)] + rq
        rate, mask = fuse_rates([x[0] for x in rq], [x[1] for x in rq], self.min_sources)
        row = [rate, float(mask), float(bin(mask).count("1"))]
        for r, qq in rq:
            row += [r, qq]
        return row


def _lagged_r(x: np.ndarray, anchor: np.ndarray, max_lag: int) -> tuple[float, int]:
    """Of the correlations of ``x`` with ``anchor`` delayed by 0..``max_lag`` samples, the one
    largest in size (signed), and its delay (samples)."""
    best, at = 0.0, 0
    for lag in range(max(max_lag, 0) + 1):
        a, b = x[:len(x) - lag], anchor[lag:]
        if len(a) > 2 and a.std() > 0 and b.std() > 0:
            r = float(np.corrcoef(a, b)[0, 1])
            if abs(r) > abs(best):
                best, at = r, lag
    return best, at


#: A beat's features: (signal buffer, absolute index of the beat, of the beat before or -1,
#: sampling rate Hz) -> one value per feature (NaN where the window does not fit).
Features = Callable[[SignalBuffer, int, int, float], tuple[float, ...]]


class BeatDerivedResp:
    """Beat-derived respiration: the core of EDR and PDR, fed the signal, its beats and NN.

    Each beat's features (``features``: e.g. QRS amplitude and area) and the heart rate
    ``60000 / NN`` of the NN series are resampled onto the grid (:class:`GridResampler`),
    band-passed (:func:`resp_band`) and fused (:class:`ModulationFusion`, anchored on the
    heart rate, last column). Times are session seconds; the signal's sample 0 lies at the
    ``t0`` of the first :meth:`add_signal`. The methods may be called in any order (beats
    before or after their samples); the output depends only on the data.

    Signal is kept from the newest beat handled (minus :data:`KEEP_S`), and never longer than
    :data:`KEEP_S` before the end of the previous piece of signal: a beat reported later than
    that (beat detectors report within 3 s) gets no features.

    Parameters
    ----------
    fs : float
        Sampling rate of the signal, Hz.
    names : sequence of str
        Names of the beat features, then of the heart-rate modulation (the anchor).
    features : callable
        See :data:`Features`; ``post_s`` seconds of signal after a beat must be known.
    post_s : float
        Signal needed after a beat, s.
    """

    def __init__(self, fs: float, names: Sequence[str], features: Features,
                 post_s: float) -> None:
        self.fs = float(fs)
        self.t0: float | None = None
        self.names = tuple(names)
        self._features = features
        self._post = math.ceil(post_s * fs)
        self._keep = round(KEEP_S * fs)
        self._raw = SignalBuffer()
        self._fill = HoldLast()
        self._parts: list[np.ndarray] = []    # samples not yet in the buffer
        self._held = 0
        self._beats: list[float] = []         # beat times waiting for their signal, s
        self._last_beat = -1
        m = len(self.names)
        self._grid = [GridResampler() for _ in range(m)]
        self._band = [resp_band(FS_HZ) for _ in range(m)]
        self.fusion = ModulationFusion(self.names, anchor=m - 1)

    def add_signal(self, t0: float, x: np.ndarray) -> None:
        """The next samples of the signal, the first at session time ``t0`` (s); held until
        a beat needs them (one copy per batch, not per chunk)."""
        if self.t0 is None:
            self.t0 = float(t0)
        self._parts.append(x)
        self._held += len(x)

    def sync(self) -> None:
        """Move the held samples into the signal buffer."""
        if not self._parts:
            return
        x = self._parts[0] if len(self._parts) == 1 else np.concatenate(self._parts)
        self._parts, self._held = [], 0
        self._raw.discard_before(min(self._raw.end - self._keep, self._last_beat - self._keep))
        self._raw.append(self._fill(np.asarray(x, float)))

    @property
    def waiting(self) -> bool:
        """True while beats wait for their signal."""
        return bool(self._beats)

    @property
    def held(self) -> int:
        """Samples held, not yet in the buffer."""
        return self._held

    def add_beats(self, t: np.ndarray) -> None:
        """Beat times, s (increasing)."""
        self._beats += [float(v) for v in t if not self._beats or v > self._beats[-1]]

    def add_nn(self, t: np.ndarray, nn_ms: np.ndarray) -> None:
        """NN intervals (ms) ending at beat times ``t`` (s); each heart rate ``60000 / NN``
        is placed at the beat that starts its interval, where the vagal modulation that sets
        the interval acts (as in :mod:`biofeed.analysis.resonance`)."""
        nn = np.asarray(nn_ms, float)
        with np.errstate(divide="ignore"):
            self._grid[-1].add(np.asarray(t, float) - nn / 1000.0,
                               np.where(nn > 0, 60000.0 / nn, np.nan))

    def take(self, least: int = 1) -> tuple[int, np.ndarray, list[tuple[int, list[float]]]]:
        """(first grid index, rows (n, 1 + m): waveform then each band-passed modulation,
        rate rows) of the grid samples every modulation now covers, once there are at least
        ``least`` of them (fewer, larger pieces cost less; the values do not change)."""
        m = len(self.names)
        empty = (0, np.empty((0, 1 + m)), [])
        if self.t0 is None:
            return empty
        feats, times = [], []
        if self._beats:
            self.sync()
        while self._beats:
            i = round((self._beats[0] - self.t0) * self.fs)
            if i + self._post >= self._raw.end:
                break
            t = self._beats.pop(0)
            if i > self._last_beat:
                if i >= self._raw.start:      # else reported after its signal was dropped
                    feats.append(self._features(self._raw, i, self._last_beat, self.fs))
                    times.append(t)
                self._last_beat = i
        if feats:
            f = np.array(feats, float).reshape(len(feats), -1)
            for c in range(f.shape[1]):
                self._grid[c].add(np.array(times), f[:, c])
        if any(g.next is None for g in self._grid):
            return empty
        k0 = max(g.next for g in self._grid)
        upto = min(g.known for g in self._grid)
        if upto - k0 < max(least, 1):
            return empty
        cols = []
        for g, band in zip(self._grid, self._band):
            start, v = g.take(upto)
            cols.append(band(v[k0 - start:]))
        rows = np.column_stack(cols)
        wave, rates = self.fusion.update(k0, rows)
        return k0, np.column_stack((wave, rows)), rates


class BeatDerivedRespProcessor(Processor):
    """Engine processor of beat-derived respiration: signal ``X`` + beats + NN ->
    ``X.{suffix}`` (kind ``resp``, a.u., :data:`FS_HZ`, channels ``resp`` (fused waveform,
    inhalation up) then every modulation band-passed) and ``X.{suffix}.rate`` (kind
    ``resp_rate``, see :func:`rate_stream_info`, stamped at the end of each 60 s window).

    The output's ``device`` names the method and the source streams. Look-ahead: the NN
    stream's (5 beats) plus the beat detector's, and samples go out 2 s at a time
    (:data:`_EMIT_LEAST`). A gap in the signal starts over.

    Subclasses set :attr:`input_kind`, :attr:`suffix`, :attr:`method`, :attr:`names`,
    :attr:`post_s` and :attr:`features`.
    """

    input_kind: str
    suffix: str
    method: str
    names: tuple[str, ...]
    post_s: float

    #: The beat's modulation values (one per :attr:`names`) from the signal buffer, the beat's
    #: sample, the previous beat's sample and the rate (Hz): ``edr.ecg_features`` (R
    #: amplitude, QRS area) or ``pdr.ppg_features`` (pulse amplitude, intensity).
    features: Features

    def __init__(self, info: StreamInfo, beats: str, nn: str, channel: int = 0) -> None:
        check_input(info, self.input_kind, channel)
        self.info, self.channel = info, channel
        self._beats_name, self._nn_name = beats, nn
        self.inputs = (info.name, beats, nn)
        device = f"{self.method}({info.name}; beats {beats}; nn {nn})"
        self.outputs = (
            StreamInfo(f"{info.name}.{self.suffix}", "resp", "a.u.", FS_HZ,
                       ("resp",) + self.names, device, derived=True),
            rate_stream_info(f"{info.name}.{self.suffix}.rate", self.names, device))
        self._core = self._new_core()
        self._expected = math.nan

    def _new_core(self) -> BeatDerivedResp:
        return BeatDerivedResp(self.info.rate, self.names, self.features, self.post_s)

    def update(self, chunk: Chunk) -> list[Chunk]:
        if not len(chunk):
            return []
        name = chunk.info.name
        if name == self.info.name:
            if self._core.t0 is not None and abs(chunk.t0 - self._expected) > 0.5 / self.info.rate:
                self._core = self._new_core()
            self._expected = chunk.t_end
            self._core.add_signal(chunk.t0, chunk.values[:, self.channel])
            if not self._core.waiting:
                if self._core.held >= KEEP_S * self.info.rate:
                    self._core.sync()      # bound what is held while no beat comes
                return []           # new samples matter only to beats waiting for them
        elif name == self._beats_name:
            self._core.add_beats(chunk.timestamps)
        elif name == self._nn_name:
            self._core.add_nn(chunk.timestamps, chunk.values[:, 0])
        else:
            raise ValueError(f"{type(self).__name__} got a chunk of {name!r}")
        return self._emit()

    def flush(self) -> list[Chunk]:
        return self._emit(1)

    def _emit(self, least: int = _EMIT_LEAST) -> list[Chunk]:
        k0, rows, rates = self._core.take(least)
        out = []
        if len(rows):
            out.append(Chunk(self.outputs[0], rows, k0 / FS_HZ))
        if rates:
            t = np.array([k / FS_HZ for k, _ in rates])
            out.append(Chunk(self.outputs[1], np.array([r for _, r in rates]), float(t[0]), t))
        return out


def run_offline(proc_chain: Sequence[Processor], chunks: Sequence[Chunk]) -> dict[str, list[Chunk]]:
    """Publish ``chunks`` through processors the way :class:`~biofeed.engine.Engine` does
    (each output handed on at once to the processors that read it), then flush them in order;
    returns every output chunk by stream name. The whole-record functions use it, so they give
    what the live pipeline gives."""
    subs: dict[str, list[Processor]] = {}
    for p in proc_chain:
        for name in p.inputs:
            subs.setdefault(name, []).append(p)
    got: dict[str, list[Chunk]] = {}

    def publish(c: Chunk) -> None:
        if not len(c):
            return
        got.setdefault(c.info.name, []).append(c)
        for p in subs.get(c.info.name, ()):
            for o in p.update(c):
                publish(o)

    for c in chunks:
        publish(c)
    for p in proc_chain:
        for o in p.flush():
            publish(o)
    return got


def grid_signal(parts: Sequence[Chunk], fs: float, n_input: int, fs_input: float,
                channel: int = 0) -> np.ndarray:
    """A regular derived stream's chunks as one array on its grid from time 0 to the end of
    an input of ``n_input`` samples at ``fs_input`` Hz: NaN where no sample was given out."""
    n = math.ceil(n_input / fs_input * fs - 1e-9)
    out = np.full(n, np.nan)
    for c in parts:
        k = round(c.t0 * fs)
        v = c.values[:, channel]
        lo, hi = max(k, 0), min(k + len(v), n)
        if hi > lo:
            out[lo:hi] = v[lo - k:hi - k]
    return out


def whole_record(x: np.ndarray, fs: float, kind: str, beat_proc, resp_proc, peak_suffix: str,
                 rr_correction: str, rates: bool):
    """Whole-record run of a beat processor, NN correction and a derived-respiration
    processor over one signal (:func:`biofeed.physio.edr.edr`,
    :func:`biofeed.physio.pdr.pdr`): ``(resp, fs_resp)`` on the grid from the signal's first
    sample, and with ``rates`` the rate table (``t_end_s`` and the rate stream's channels)."""
    import pandas as pd

    from .rr import NNProcessor

    info = StreamInfo(kind, kind, "mV" if kind == "ecg" else "a.u.", float(fs))
    beats = beat_proc(info)
    nn = NNProcessor(f"{kind}.rr", rr_correction)
    proc = resp_proc(info, f"{kind}.{peak_suffix}", nn.outputs[0].name)
    got = run_offline([beats, nn, proc], [Chunk(info, x, 0.0)])
    resp = grid_signal(got.get(proc.outputs[0].name, []), FS_HZ, len(x), fs)
    if not rates:
        return resp, FS_HZ
    parts = got.get(proc.outputs[1].name, [])
    ch = proc.outputs[1].channels
    table = pd.DataFrame(np.concatenate([c.values for c in parts]) if parts
                         else np.empty((0, len(ch))), columns=ch)
    table.insert(0, "t_end_s", np.concatenate([c.timestamps for c in parts]) if parts
                 else np.empty(0))
    return resp, FS_HZ, table
