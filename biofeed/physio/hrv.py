"""Heart-rate-variability indices of an NN series (Task Force 1996; Shaffer & Ginsberg 2017).

Units: intervals and SDs in ms, powers in ms^2, frequencies in Hz, heart rate in bpm, pNN50 and
normalised powers in %, Baevsky's stress index in %/s^2, PNS/SNS indices in SDs of the norm.

Minimum windows. An index is NaN when the NN series spans (``sum(nn_ms)``) less than its
minimum duration: 10 s for the time-domain and Poincaré indices and the PNS index (Munoz et al.
2015), 60 s for HF power and peak and for the stress and SNS indices, 120 s for LF power and
peak and every LF/HF combination, 300 s for VLF power (Task Force 1996; Shaffer & Ginsberg
2017). A series reaching :data:`SPAN_TOLERANCE` (95 %) of a minimum qualifies, so a sliding
window of exactly that length is not rejected for the part of a beat it misses.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import scipy.linalg.lapack

from ..stream import StreamInfo
from .rr import GridProcessor

#: Keys of :func:`hrv`, in output-channel order.
HRV_KEYS = ("mean_nn", "sdnn", "rmssd", "pnn50", "mean_hr", "vlf", "lf", "hf", "lf_hf", "lfnu",
            "hfnu", "lf_peak", "hf_peak", "sd1", "sd2", "stress_index", "pns_index", "sns_index")

#: Frequency bands, Hz (Task Force 1996); lower edge included, upper excluded.
BANDS = {"vlf": (0.0033, 0.04), "lf": (0.04, 0.15), "hf": (0.15, 0.40)}

#: Minimum span of the NN series, s, per group of indices (see module notes).
MIN_SPAN_S = {"time": 10.0, "hf": 60.0, "stress": 60.0, "lf": 120.0, "vlf": 300.0}
#: Fraction of a minimum span that is accepted.
SPAN_TOLERANCE = 0.95

#: Normative values (mean, SD) for the PNS/SNS indices. Mean RR, RMSSD: Nunan et al. (2010).
#: SD1 = RMSSD / sqrt(2). Mean HR = 60000 / mean RR, SD by the delta method
#: (60000 * 90 / 926^2). SD2 = sqrt(2 SDNN^2 - SD1^2) from Nunan's SDNN 50 +/- 16 ms, SD scaled
#: by SDNN's coefficient of variation. sqrt(SI): Baevsky & Chernikova (2017) give SI 50-150 as
#: the normal resting range, taken here as sqrt(SI) 9.5 +/- 2.5.
NORMS = {"mean_nn": (926.0, 90.0), "rmssd": (42.0, 15.0), "sd1": (29.7, 10.6),
         "mean_hr": (64.8, 6.3), "sd2": (64.2, 20.5), "sqrt_si": (9.5, 2.5)}


#: :data:`HRV_KEYS` of :func:`hrv_time` and of :func:`hrv_frequency`, in their dicts' order.
_TIME_KEYS = HRV_KEYS[:5] + HRV_KEYS[13:]
_FREQ_KEYS = HRV_KEYS[5:13]

#: Intervals per block of the time-domain sums and the stress-index histogram (bounds their
#: temporaries; a live window is one block).
_TIME_BLOCK = 16384
#: Knots per piece of the spline resampling of long series (:func:`_resampled`); every piece is
#: solved with :data:`_PIECE_MARGIN` more knots on each side.
_PIECE_KNOTS = 4096
#: A natural spline's second derivatives satisfy ``h[i-1] m[i-1] + 2 (h[i-1] + h[i]) m[i] +
#: h[i] m[i+1] = rhs[i]``: diagonally dominant by a factor 2, so changing the end conditions of a
#: piece changes ``m`` ``j`` knots inside it by at most ``2^-j`` times as much. 64 knots leave
#: differences below 1e-19 of that, i.e. at the rounding level of the solution on the whole
#: series.
_PIECE_MARGIN = 64
#: Resampled values computed per block (bounds the evaluation's temporaries).
_BLOCK_SAMPLES = 16384
#: Welch segments transformed per batch (bounds the FFT's temporaries; the periodograms of the
#: batches are summed).
_WELCH_BATCH = 32


def _qualifies(span_s: float, group: str) -> bool:
    return span_s >= SPAN_TOLERANCE * MIN_SPAN_S[group]


def _checked(nn_ms) -> tuple[np.ndarray, float, float]:
    """NN intervals as float64 (ms), validated, with their minimum and maximum (NaN if empty)."""
    nn = np.asarray(nn_ms, dtype=np.float64).reshape(-1)
    if nn.size == 0:
        return nn, math.nan, math.nan
    lo, hi = float(nn.min()), float(nn.max())
    if not (lo > 0 and hi < math.inf):  # NaN fails the first test
        raise ValueError("NN intervals must be finite and > 0 ms")
    return nn, lo, hi


def stress_index(nn_ms) -> float:
    """Baevsky's stress index SI = AMo / (2 Mo MxDMn) (Baevsky & Chernikova 2017).

    Histogram of 50 ms bins with edges at multiples of 50 ms; AMo = % of intervals in the modal
    bin (the shortest one on ties), Mo = centre of that bin (s), MxDMn = max - min interval (s).

    Parameters
    ----------
    nn_ms : array_like
        NN intervals, ms.

    Returns
    -------
    float
        SI in %/s^2 (Kubios reports its square root); NaN when all intervals are equal.
    """
    nn, lo, hi = _checked(nn_ms)
    if nn.size == 0:
        return math.nan
    return _stress_index(nn, lo, hi)


def _stress_index(nn: np.ndarray, lo: float, hi: float) -> float:
    """:func:`stress_index` of validated intervals with minimum ``lo`` and maximum ``hi`` (ms);
    the histogram is counted in blocks of :data:`_TIME_BLOCK` intervals."""
    if hi == lo:
        return math.nan
    first = math.floor(lo / 50.0)  # lowest bin
    size = math.floor(hi / 50.0) - first + 1
    counts = None
    for a in range(0, nn.size, _TIME_BLOCK):
        # bin - first: x / 50 - first is exact and >= 0, so truncation is the floor
        block = np.bincount((nn[a:a + _TIME_BLOCK] / 50.0 - first).astype(np.int64),
                            minlength=size)
        counts = block if counts is None else counts + block
    mode = int(counts.argmax())
    amo = 100.0 * int(counts[mode]) / nn.size
    mo = ((mode + first) * 50.0 + 25.0) / 1000.0
    return float(amo / (2.0 * mo * (hi - lo) / 1000.0))


def autonomic_indices(mean_nn: float, rmssd: float, sd1: float, mean_hr: float, sd2: float,
                      si: float) -> tuple[float, float]:
    """Kubios-style PNS and SNS indices from :data:`NORMS`.

    PNS = mean of z(mean NN), z(RMSSD), z(SD1); SNS = mean of z(mean HR), z(sqrt SI), -z(SD2),
    where z(x) = (x - norm mean) / norm SD, so 0 is the population mean and +1 one SD towards
    more parasympathetic (PNS) or sympathetic (SNS) activity. Equal weights are this project's
    choice (Kubios' weights are not published).

    Parameters
    ----------
    mean_nn, rmssd, sd1, sd2 : float
        ms.
    mean_hr : float
        bpm.
    si : float
        Baevsky stress index, %/s^2.

    Returns
    -------
    pns_index, sns_index : float
    """
    def z(key, x):
        mean, sd = NORMS[key]
        return (x - mean) / sd

    pns = (z("mean_nn", mean_nn) + z("rmssd", rmssd) + z("sd1", sd1)) / 3.0
    sns = (z("mean_hr", mean_hr) + z("sqrt_si", math.sqrt(si)) - z("sd2", sd2)) / 3.0
    return pns, sns


def hrv_time(nn_ms) -> dict[str, float]:
    """Time-domain, Poincaré, stress and autonomic indices.

    Parameters
    ----------
    nn_ms : array_like
        Successive NN intervals, ms.

    Returns
    -------
    dict
        ``mean_nn`` (ms), ``sdnn`` (ms, ddof=1), ``rmssd`` (ms), ``pnn50`` (% of successive
        differences > 50 ms), ``mean_hr`` (60000 / mean NN, bpm), ``sd1`` = SDSD / sqrt(2) and
        ``sd2`` = sqrt(2 SDNN^2 - SD1^2) (ms; Brennan et al. 2001), ``stress_index``
        (:func:`stress_index`), ``pns_index``, ``sns_index`` (:func:`autonomic_indices`).
        NaN where the span is below the minimum (module notes).
    """
    return dict(zip(_TIME_KEYS, _time_values(*_checked(nn_ms))))


def _time_values(nn: np.ndarray, lo: float, hi: float) -> list[float]:
    """:func:`hrv_time` of validated intervals (minimum ``lo``, maximum ``hi``, ms), in
    :data:`_TIME_KEYS` order.

    Sums of squares are taken over blocks of :data:`_TIME_BLOCK` intervals (so temporaries do
    not grow with the series); the SD of the successive differences combines the blocks' sums
    of squared deviations from their own means (Chan et al. 1979). Scalar arithmetic on dot
    products: the live HRV calls this every second on a single block.
    """
    n = nn.size
    total = float(nn.sum())
    if n < 3 or not _qualifies(total / 1000.0, "time"):
        return [math.nan] * len(_TIME_KEYS)
    mean_nn = total / n
    ss_nn = ss_diff = mean_diff = m2_diff = 0.0  # m2: squared deviations from mean_diff
    n_diff = n_over_50 = 0
    for a in range(0, n, _TIME_BLOCK):
        dev = nn[a:a + _TIME_BLOCK] - mean_nn
        ss_nn += float(dev @ dev)
        e = min(a + _TIME_BLOCK, n - 1)
        if e == a:
            continue
        diff = nn[a + 1:e + 1] - nn[a:e]
        ss_diff += float(diff @ diff)
        n_over_50 += int(np.count_nonzero(np.abs(diff) > 50.0))
        mean_b = float(diff.sum()) / (e - a)
        dev = diff - mean_b
        delta, n_diff = mean_b - mean_diff, n_diff + e - a
        m2_diff += float(dev @ dev) + delta * delta * (n_diff - e + a) * (e - a) / n_diff
        mean_diff += delta * (e - a) / n_diff
    sdnn = math.sqrt(ss_nn / (n - 1))
    rmssd = math.sqrt(ss_diff / (n - 1))
    sd1 = math.sqrt(m2_diff / (n - 2) / 2.0)
    pnn50 = 100.0 * n_over_50 / (n - 1)
    mean_hr = 60000.0 / mean_nn
    sd2 = math.sqrt(max(2.0 * sdnn * sdnn - sd1 * sd1, 0.0))
    si = _stress_index(nn, lo, hi) if _qualifies(total / 1000.0, "stress") else math.nan
    pns, sns = autonomic_indices(mean_nn, rmssd, sd1, mean_hr, sd2, si)
    return [mean_nn, sdnn, rmssd, pnn50, mean_hr, sd1, sd2, si, pns, sns]


def cubic_spline(t: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Natural cubic spline through ``(t, y)`` evaluated at ``grid``.

    Second derivatives are zero at both ends; two knots give a straight line.

    Parameters
    ----------
    t : ndarray
        Knot times, strictly increasing (at least 2), s.
    y : ndarray
        Values at the knots.
    grid : ndarray
        Evaluation times, s (within ``t[0] .. t[-1]``).

    Returns
    -------
    ndarray
        Spline values at ``grid``.
    """
    return _spline_values(t, y, _spline_coefficients(t, y), grid)


def _spline_coefficients(t: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    """Per-interval coefficients ``c1, c2, c3`` of the natural cubic spline through (t, y):
    ``y[j] + dx (c1[j] + dx (c2[j] + dx c3[j]))`` with ``dx = x - t[j]``."""
    h = t[1:] - t[:-1]
    slope = (y[1:] - y[:-1]) / h
    m = np.zeros(t.size)  # second derivatives
    if t.size > 2:
        off = h[1:-1]
        m[1:-1] = scipy.linalg.lapack.dgtsv(off, 2.0 * (h[:-1] + h[1:]), off,
                                            6.0 * (slope[1:] - slope[:-1]),
                                            overwrite_d=True, overwrite_b=True)[3]
    c1 = slope - h * (2.0 * m[:-1] + m[1:]) / 6.0
    c3 = (m[1:] - m[:-1]) / (6.0 * h)
    return c1, 0.5 * m, c3


def _spline_values(t: np.ndarray, y: np.ndarray, coef: tuple[np.ndarray, ...],
                   grid: np.ndarray) -> np.ndarray:
    """The spline of :func:`_spline_coefficients` at ``grid`` (end pieces extend outwards)."""
    c1, c2, c3 = coef
    j = t[1:-1].searchsorted(grid, "right")  # interval, 0 .. t.size - 2
    dx = grid - t[j]
    return y[j] + dx * (c1[j] + dx * (c2[j] + dx * c3[j]))


def _beat_sums(nn: np.ndarray, lo: int, hi: int, before: float) -> np.ndarray:
    """``cumsum(nn)[lo:hi]`` (ms) from ``before = cumsum(nn)[lo - 1]`` (0 for ``lo = 0``).

    The same sequential sums as one ``np.cumsum`` over the whole series.
    """
    s = nn[lo:hi].copy()
    s[0] += before
    return np.add.accumulate(s, out=s)


def _samples_before(t: float, t0: float, fs: float) -> int:
    """Number of resampling times ``t0 + k / fs`` (as computed in floating point) before ``t``."""
    k = max(math.ceil((t - t0) * fs), 0)
    while k > 0 and t0 + (k - 1) / fs >= t:
        k -= 1
    while t0 + k / fs < t:
        k += 1
    return k


def _resampled(nn: np.ndarray, fs: float):
    """Length and consecutive blocks of :func:`resample_nn` ``(nn, fs)`` (validated ``nn``).

    Memory does not grow with the series: the spline is solved on pieces of
    :data:`_PIECE_KNOTS` knots (plus :data:`_PIECE_MARGIN` on each side, see there), each
    piece gives the samples from its first knot to the next piece's first knot in blocks of at
    most :data:`_BLOCK_SAMPLES`, and the beat times are running sums over the pieces. A series
    of at most :data:`_PIECE_KNOTS` beats is one piece: exactly the spline through all beats.

    Returns
    -------
    n_samples : int
    blocks : iterator of ndarray
        The resampled series (ms) in order, in blocks.
    """
    n = nn.size
    end = 0.0  # cumsum(nn) at the end of the blocks so far, ms
    for last in range(0, n, _PIECE_KNOTS):
        tail = _beat_sums(nn, last, min(last + _PIECE_KNOTS, n), end)
        end = tail[-1]
    t0 = nn[0] / 1000.0
    n_samples = math.floor((end / 1000.0 - t0) * fs + 1e-9) + 1

    def blocks():
        sums, l0, s0 = None, 0, 0
        for c0 in range(0, n, _PIECE_KNOTS):
            c1 = min(c0 + _PIECE_KNOTS, n)
            start, stop = max(c0 - _PIECE_MARGIN, 0), min(c1 + _PIECE_MARGIN, n)
            if (start, stop) == (last, n):  # one piece: the first pass's sums
                sums = tail
            else:
                sums = _beat_sums(nn, start, stop, sums[start - 1 - l0] if start else 0.0)
            l0 = start
            t = sums / 1000.0
            y = nn[l0:l0 + t.size]
            coef = _spline_coefficients(t, y)
            s1 = n_samples if c1 == n else _samples_before(t[c1 - l0], t0, fs)
            for a in range(s0, s1, _BLOCK_SAMPLES):
                grid = t0 + np.arange(a, min(a + _BLOCK_SAMPLES, s1)) / fs
                yield _spline_values(t, y, coef, grid)
            s0 = s1

    return n_samples, blocks()


def resample_nn(nn_ms, fs: float) -> np.ndarray:
    """NN series resampled evenly with a natural cubic spline through the beat times.

    Beat ``i`` sits at ``cumsum(nn)[i] / 1000`` s; samples run from the first beat to the last
    at ``fs`` Hz. Series longer than 4096 beats are interpolated piece by piece (same values
    to rounding, see :func:`_resampled`).

    Parameters
    ----------
    nn_ms : array_like
        NN intervals, ms (at least 2).
    fs : float
        Sampling rate, Hz.

    Returns
    -------
    ndarray
        NN at ``t[0] + k / fs``, ms.
    """
    nn = _checked(nn_ms)[0]
    if nn.size < 2:
        raise ValueError("resampling needs at least 2 NN intervals")
    n_samples, blocks = _resampled(nn, fs)
    out = np.empty(n_samples)
    a = 0
    for block in blocks:
        out[a:a + block.size] = block
        a += block.size
    return out


def psd(x: np.ndarray, fs: float, nperseg: int, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD: Hann windows, 50 % overlap, linear detrend per segment (Welch 1967).

    Equal to ``scipy.signal.welch(x, fs, "hann", nperseg, nperseg // 2, nfft, "linear")``
    (density scaling, one-sided, mean of segments), without its per-call overhead; segments
    are transformed in batches of :data:`_WELCH_BATCH`, so memory does not grow with their
    number.

    Parameters
    ----------
    x : ndarray
        Evenly sampled signal (e.g. ms), at least ``nperseg`` samples.
    fs : float
        Sampling rate, Hz.
    nperseg : int
        Samples per segment; ``nperseg == len(x)`` gives a Hann periodogram.
    nfft : int
        FFT length (>= nperseg, zero-padded).

    Returns
    -------
    f : ndarray
        Frequencies, Hz.
    p : ndarray
        One-sided density, unit^2 / Hz (ms^2 / Hz for NN in ms).
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    return _frequencies(nfft, fs)[0].copy(), _welch((x,), fs, nperseg, nfft)


def _welch(blocks, fs: float, nperseg: int, nfft: int) -> np.ndarray:
    """:func:`psd` density of the signal given as consecutive contiguous ``blocks``."""
    w, basis, power = _taper(nperseg)
    step = nperseg - nperseg // 2
    total, count, tail = None, 0, None
    for block in blocks:
        x = block if tail is None else np.concatenate((tail, block))
        k = (x.size - nperseg) // step + 1 if x.size >= nperseg else 0
        for i in range(0, k, _WELCH_BATCH):
            seg = np.ndarray((min(k - i, _WELCH_BATCH), nperseg), np.float64, x,
                             i * step * x.itemsize, (step * x.itemsize, x.itemsize))
            seg = seg - np.add.reduce(seg, axis=1, keepdims=True) / nperseg  # the mean
            seg = seg - (seg @ basis)[:, None] * basis
            spec = np.fft.rfft(seg * w, n=nfft, axis=1)
            batch = np.add.reduce(spec.real ** 2 + spec.imag ** 2, axis=0)
            total = batch if total is None else total + batch
        count += k
        tail = x[k * step:]
    if count == 0:
        raise ValueError(f"fewer than nperseg = {nperseg} samples")
    p = total / count / (fs * power)
    p[1:nfft // 2 + (nfft % 2)] *= 2.0
    return p


@functools.lru_cache(maxsize=64)
def _taper(nperseg: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Periodic Hann window, the unit vector of a centred ramp (linear detrend) and the
    window's power ``w @ w``."""
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(nperseg) / nperseg)
    ramp = np.arange(nperseg) - (nperseg - 1) / 2.0
    norm = math.sqrt(ramp @ ramp)
    return w, ramp / norm if norm else ramp, float(w @ w)


@functools.lru_cache(maxsize=64)
def _frequencies(nfft: int, fs: float) -> tuple[np.ndarray, float, dict[str, tuple[int, int]]]:
    """Frequencies of an ``nfft``-point one-sided spectrum (Hz, read-only), the bin width (Hz)
    and the bins of each of :data:`BANDS` (``f[lo] >= low edge > f[lo - 1]``)."""
    f = np.fft.rfftfreq(nfft, 1.0 / fs)
    f.flags.writeable = False
    bands = {name: tuple(int(i) for i in np.searchsorted(f, edges))
             for name, edges in BANDS.items()}
    return f, float(f[1] - f[0]), bands


def _layout(n: int, fs: float, segment_s: float) -> tuple[int, int]:
    """Segment and FFT length of :func:`welch_psd` for ``n`` samples."""
    k = max(1, round(2.0 * n / (segment_s * fs)) - 1)
    nperseg = n if k == 1 else (2 * n) // (k + 1)
    return nperseg, 1 << math.ceil(math.log2(2 * nperseg))


def welch_psd(x: np.ndarray, fs: float, segment_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD (:func:`psd`) with segments of about ``segment_s`` that tile the series.

    K = max(1, round(2 N / L) - 1) segments of 2 N / (K + 1) samples, where L =
    ``segment_s * fs``, so the whole series is used; a series shorter than L is one segment.
    FFTs are zero-padded to the power of two at or above twice the segment (finer bins at the
    band edges).

    Parameters
    ----------
    x : ndarray
        Evenly sampled signal (e.g. ms).
    fs : float
        Sampling rate, Hz.
    segment_s : float
        Target segment length, s.

    Returns
    -------
    f, p : ndarray
        Frequencies (Hz) and one-sided density (unit^2 / Hz).
    """
    return psd(x, fs, *_layout(np.size(x), fs, segment_s))


def hrv_frequency(nn_ms, *, fs: float = 4.0, segment_s: float = 256.0) -> dict[str, float]:
    """Frequency-domain indices from a 4 Hz cubic-spline resampling and Welch's method.

    Memory does not grow with the length of the series beyond the series itself: the
    resampled series is produced and consumed in blocks (:func:`_resampled`, :func:`psd`).

    Parameters
    ----------
    nn_ms : array_like
        Successive NN intervals, ms.
    fs : float
        Resampling rate, Hz (4 Hz, Task Force 1996).
    segment_s : float
        Target Welch segment length, s (256 s as in Kubios; see :func:`welch_psd`).

    Returns
    -------
    dict
        ``vlf``, ``lf``, ``hf`` (ms^2; PSD summed over ``lo <= f < hi`` times the bin width,
        bands :data:`BANDS`), ``lf_hf``, ``lfnu`` = LF / (LF + HF) * 100, ``hfnu`` (%),
        ``lf_peak``, ``hf_peak`` (Hz of the PSD maximum in the band). NaN where the span is
        below the minimum (module notes).
    """
    return dict(zip(_FREQ_KEYS, _frequency_values(_checked(nn_ms)[0], fs, segment_s)))


def _frequency_values(nn: np.ndarray, fs: float = 4.0, segment_s: float = 256.0) -> list[float]:
    """:func:`hrv_frequency` of validated intervals, in :data:`_FREQ_KEYS` order."""
    vlf = lf = hf = lf_hf = lfnu = hfnu = lf_peak = hf_peak = math.nan
    span = nn.sum() / 1000.0
    if nn.size >= 2 and _qualifies(span, "hf"):    # (one interval has nothing to resample)
        n_samples, blocks = _resampled(nn, fs)
        nperseg, nfft = _layout(n_samples, fs, segment_s)
        p = _welch(blocks, fs, nperseg, nfft)
        f, df, bins = _frequencies(nfft, fs)

        def band(name):
            lo, hi = bins[name]
            x = p[lo:hi]
            return float(np.add.reduce(x) * df), float(f[lo + x.argmax()])

        hf, hf_peak = band("hf")
        if _qualifies(span, "lf"):
            lf, lf_peak = band("lf")
            if hf > 0:                                    # ratios are undefined without HF power
                lf_hf = lf / hf
            if lf + hf > 0:
                lfnu, hfnu = 100.0 * lf / (lf + hf), 100.0 * hf / (lf + hf)
        if _qualifies(span, "vlf"):
            vlf = band("vlf")[0]
    return [vlf, lf, hf, lf_hf, lfnu, hfnu, lf_peak, hf_peak]


def hrv(nn_ms) -> dict[str, float]:
    """All HRV indices of an NN series: :func:`hrv_time` and :func:`hrv_frequency`.

    Parameters
    ----------
    nn_ms : array_like
        Successive, artifact-corrected NN intervals, ms (from
        :func:`biofeed.physio.rr.clean_rr`; intervals are analysed as given).

    Returns
    -------
    dict[str, float]
        Keys :data:`HRV_KEYS`; units and minimum windows in the module notes.

    Examples
    --------
    LF power 30^2 / 2 = 450 ms^2 and HF power 20^2 / 2 = 200 ms^2 (the spline through beats
    0.8 s apart keeps 99 % of the 0.25 Hz power):

    >>> t = np.cumsum(np.full(400, 0.8))
    >>> rr = 800 + 30 * np.sin(2 * np.pi * 0.1 * t) + 20 * np.sin(2 * np.pi * 0.25 * t)
    >>> h = hrv(rr)
    >>> round(h["lf"]), round(h["hf"]), float(h["hf_peak"])
    (449, 198, 0.25)
    """
    out = hrv_time(nn_ms)
    out.update(hrv_frequency(nn_ms))
    return {key: out[key] for key in HRV_KEYS}


def hrv_stream_info(name: str = "hrv") -> StreamInfo:
    """Description of the live HRV stream (channels :data:`HRV_KEYS`)."""
    return StreamInfo(name=name, kind="hrv", unit="a.u.", rate=0.0, channels=HRV_KEYS,
                      device=name, derived=True)


class HRVProcessor(GridProcessor):
    """Live HRV indices, one sample per whole second of session time.

    Input: NN stream ``source`` (kind ``"nn"``, emitted by
    :class:`~biofeed.physio.rr.NNProcessor`; ms, irregular, timestamp = beat time, s). At every
    whole second ``T`` the processor emits :data:`HRV_KEYS`:

    * :func:`hrv_time` (time-domain, Poincaré, stress and autonomic indices) of the NN beats
      with time in ``(T - time_window_s, T]``, recomputed every second;
    * :func:`hrv_frequency` (spectral indices) of the beats in ``(T_s - spectral_window_s, T_s]``
      where ``T_s = spectral_period_s * floor(T / spectral_period_s)`` is the latest multiple of
      ``spectral_period_s`` (default 5 s), held in between: the spectrum of a 300 s window
      hardly moves in a second, and recomputing it every 5 s instead of every second makes
      the processor about 2.5 times cheaper (``benchmarks/bench_hrv.py``).

    Windows are shorter while the session is younger; indices whose minimum span is not met
    are NaN (see the module notes). Emission times and values depend only on the NN stream,
    not on chunking (see :class:`~biofeed.physio.rr.GridProcessor`).

    Parameters
    ----------
    source : str
        Name of the NN input stream.
    time_window_s : float
        Window of the time-domain, Poincaré, stress and autonomic indices, s (30-60 usual).
    spectral_window_s : float
        Window of the spectral indices, s (120-300 usual).
    spectral_period_s : float
        Seconds between recomputations of the spectral indices (a multiple of 1 s).
    name : str
        Name of the output stream.
    """

    def __init__(self, source: str = "rr.nn", time_window_s: float = 60.0,
                 spectral_window_s: float = 300.0, spectral_period_s: float = 5.0,
                 name: str = "hrv") -> None:
        super().__init__(source, period_s=1.0, history_s=max(time_window_s, spectral_window_s))
        if not (spectral_period_s >= 1.0 and float(spectral_period_s).is_integer()):
            raise ValueError(f"spectral_period_s must be a whole number of seconds >= 1, "
                             f"got {spectral_period_s!r}")
        self.outputs = (hrv_stream_info(name),)
        self._time_window = float(time_window_s)
        self._spectral_window = float(spectral_window_s)
        self._spectral_period = float(spectral_period_s)
        self._spectral_t = math.nan      # T_s of the held spectral values
        self._spectral: list[float] = []  # held spectral values, _FREQ_KEYS order

    def _compute(self, t: float, times: np.ndarray, nn: np.ndarray) -> list[float]:
        ts = self._spectral_period * math.floor(t / self._spectral_period)
        if ts != self._spectral_t:
            # ts == t on every grid point but possibly the first, which has no beats <= ts
            self._spectral_t = ts
            lo = times.searchsorted(ts - self._spectral_window, "right")
            window = nn[lo:times.searchsorted(ts, "right")]
            self._spectral = _frequency_values(_checked(window)[0])
        values = _time_values(*_checked(nn[times.searchsorted(t - self._time_window, "right"):]))
        return values[:5] + self._spectral + values[5:]  # HRV_KEYS order
