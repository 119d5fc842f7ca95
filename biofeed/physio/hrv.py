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


def _qualifies(span_s: float, group: str) -> bool:
    return span_s >= SPAN_TOLERANCE * MIN_SPAN_S[group]


def _as_nn(nn_ms) -> np.ndarray:
    nn = np.asarray(nn_ms, dtype=np.float64).reshape(-1)
    if nn.size and not (nn.min() > 0 and nn.max() < math.inf):  # NaN fails the first test
        raise ValueError("NN intervals must be finite and > 0 ms")
    return nn


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
    nn = _as_nn(nn_ms)
    if nn.size == 0:
        return math.nan
    return _stress_index(nn, float(nn.min()), float(nn.max()))


def _stress_index(nn: np.ndarray, lo: float, hi: float) -> float:
    """:func:`stress_index` of validated intervals with minimum ``lo`` and maximum ``hi`` (ms)."""
    if hi == lo:
        return math.nan
    bins = np.floor(nn / 50.0).astype(np.int64)
    first = math.floor(lo / 50.0)  # == bins.min()
    counts = np.bincount(bins - first)
    mode = int(counts.argmax())
    amo = 100.0 * counts[mode] / nn.size
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
    nn = _as_nn(nn_ms)
    out = dict.fromkeys(("mean_nn", "sdnn", "rmssd", "pnn50", "mean_hr", "sd1", "sd2",
                         "stress_index", "pns_index", "sns_index"), math.nan)
    n = nn.size
    total = float(nn.sum())
    if n < 3 or not _qualifies(total / 1000.0, "time"):
        return out
    # scalar arithmetic on dot products: the live HRV calls this every second
    mean_nn = total / n
    dev = nn - mean_nn
    sdnn = math.sqrt(float(dev @ dev) / (n - 1))
    diff = nn[1:] - nn[:-1]
    rmssd = math.sqrt(float(diff @ diff) / (n - 1))
    dev = diff - float(diff.sum()) / (n - 1)
    sd1 = math.sqrt(float(dev @ dev) / (n - 2) / 2.0)
    out.update(mean_nn=mean_nn, sdnn=sdnn, rmssd=rmssd,
               pnn50=100.0 * np.count_nonzero(np.abs(diff) > 50.0) / (n - 1),
               mean_hr=60000.0 / mean_nn, sd1=sd1,
               sd2=math.sqrt(max(2.0 * sdnn * sdnn - sd1 * sd1, 0.0)))
    if _qualifies(total / 1000.0, "stress"):
        out["stress_index"] = _stress_index(nn, float(nn.min()), float(nn.max()))
    pns, sns = autonomic_indices(mean_nn, rmssd, sd1, out["mean_hr"], out["sd2"],
                                 out["stress_index"])
    out.update(pns_index=pns, sns_index=sns)
    return out


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
    h = np.diff(t)
    slope = np.diff(y) / h
    m = np.zeros(t.size)  # second derivatives
    if t.size > 2:
        off = h[1:-1]
        m[1:-1] = scipy.linalg.lapack.dgtsv(off, 2.0 * (h[:-1] + h[1:]), off,
                                            6.0 * np.diff(slope))[3]
    c1 = slope - h * (2.0 * m[:-1] + m[1:]) / 6.0
    c3 = (m[1:] - m[:-1]) / (6.0 * h)
    j = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, t.size - 2)
    dx = grid - t[j]
    return y[j] + dx * (c1[j] + dx * (0.5 * m[j] + dx * c3[j]))


def resample_nn(nn_ms, fs: float) -> np.ndarray:
    """NN series resampled evenly with a natural cubic spline through the beat times.

    Beat ``i`` sits at ``cumsum(nn)[i] / 1000`` s; samples run from the first beat to the last
    at ``fs`` Hz.

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
    nn = _as_nn(nn_ms)
    t = np.cumsum(nn) / 1000.0
    grid = t[0] + np.arange(int(math.floor((t[-1] - t[0]) * fs + 1e-9)) + 1) / fs
    return cubic_spline(t, nn, grid)


def psd(x: np.ndarray, fs: float, nperseg: int, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD: Hann windows, 50 % overlap, linear detrend per segment (Welch 1967).

    Equal to ``scipy.signal.welch(x, fs, "hann", nperseg, nperseg // 2, nfft, "linear")``
    (density scaling, one-sided, mean of segments), without its per-call overhead.

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
    w, basis = _taper(nperseg)
    if nperseg == x.size:
        seg = x[None, :]
    else:
        seg = np.lib.stride_tricks.sliding_window_view(x, nperseg)[::nperseg - nperseg // 2]
    seg = seg - seg.mean(axis=1, keepdims=True)
    seg = seg - np.outer(seg @ basis, basis)
    spec = np.fft.rfft(seg * w, n=nfft, axis=1)
    p = (spec.real ** 2 + spec.imag ** 2).mean(axis=0) / (fs * (w @ w))
    p[1:nfft // 2 + (nfft % 2)] *= 2.0
    return np.fft.rfftfreq(nfft, 1.0 / fs), p


@functools.lru_cache(maxsize=64)
def _taper(nperseg: int) -> tuple[np.ndarray, np.ndarray]:
    """Periodic Hann window and the unit vector of a centred ramp (linear detrend)."""
    w = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(nperseg) / nperseg)
    ramp = np.arange(nperseg) - (nperseg - 1) / 2.0
    norm = math.sqrt(ramp @ ramp)
    return w, ramp / norm if norm else ramp


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
    n = x.size
    k = max(1, round(2.0 * n / (segment_s * fs)) - 1)
    nperseg = n if k == 1 else (2 * n) // (k + 1)
    return psd(x, fs, nperseg, 1 << int(math.ceil(math.log2(2 * nperseg))))


def hrv_frequency(nn_ms, *, fs: float = 4.0, segment_s: float = 256.0) -> dict[str, float]:
    """Frequency-domain indices from a 4 Hz cubic-spline resampling and Welch's method.

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
    nn = _as_nn(nn_ms)
    out = dict.fromkeys(("vlf", "lf", "hf", "lf_hf", "lfnu", "hfnu", "lf_peak", "hf_peak"),
                        math.nan)
    span = nn.sum() / 1000.0
    if not _qualifies(span, "hf"):
        return out
    f, p = welch_psd(resample_nn(nn, fs), fs, segment_s)
    df = f[1] - f[0]

    def band(name):
        lo, hi = np.searchsorted(f, BANDS[name])  # f[lo] >= low edge > f[lo - 1]
        return float(p[lo:hi].sum() * df), float(f[lo + np.argmax(p[lo:hi])])

    out["hf"], out["hf_peak"] = band("hf")
    if _qualifies(span, "lf"):
        lf, out["lf_peak"] = band("lf")
        hf = out["hf"]
        out["lf"] = lf
        if hf > 0:                                    # ratios are undefined without HF power
            out["lf_hf"] = lf / hf
        if lf + hf > 0:
            out.update(lfnu=100.0 * lf / (lf + hf), hfnu=100.0 * hf / (lf + hf))
    if _qualifies(span, "vlf"):
        out["vlf"] = band("vlf")[0]
    return out


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
        self._spectral: dict[str, float] = {}

    def _compute(self, t: float, times: np.ndarray, nn: np.ndarray) -> np.ndarray:
        ts = self._spectral_period * math.floor(t / self._spectral_period)
        if ts != self._spectral_t:
            # ts == t on every grid point but possibly the first, which has no beats <= ts
            self._spectral_t = ts
            self._spectral = hrv_frequency(nn[(times > ts - self._spectral_window)
                                              & (times <= ts)])
        out = hrv_time(nn[times > t - self._time_window])
        out.update(self._spectral)
        return np.array([out[key] for key in HRV_KEYS])
