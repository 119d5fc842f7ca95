"""Cardiac coherence (McCraty et al. 2009) and RSA amplitude (peak-to-trough heart rate).

Coherence ratio, as computed here: the last :data:`WINDOW_S` (64 s) of the NN series is
resampled at 2 Hz with a natural cubic spline through the beat times, linearly detrended,
Hann-windowed and turned into a periodogram (zero-padded to 1024 points, 0.002 Hz bins). The
highest PSD value in 0.04-0.26 Hz marks the peak; peak power is the power within +/- 0.015 Hz
of it (a 0.030 Hz window); total power is the power in 0.0033-0.4 Hz (the whole HRV spectrum,
as in McCraty et al. 2009). Ratio = peak / (total - peak), *not squared* by default (McCraty et
al. 2009 square it; ``squared=True`` gives that variant). A pure 0.1 Hz sinusoid scores about
8, white noise 0.1-0.3.
"""
from __future__ import annotations

import math

import numpy as np

from ..stream import StreamInfo
from .spectrum import cubic_spline, psd
from .rr import GridProcessor

#: Length of the analysed window, s.
WINDOW_S = 64.0
#: Resampling rate, Hz.
FS = 2.0
#: Band searched for the coherence peak, Hz.
PEAK_BAND = (0.04, 0.26)
#: Width of the peak window, Hz.
PEAK_WIDTH_HZ = 0.030
#: Band of the total power, Hz (lower edge included, upper excluded).
TOTAL_BAND = (0.0033, 0.40)
_NFFT = 1024


def coherence_peak(nn_ms, *, squared: bool = False) -> tuple[float, float]:
    """Coherence ratio and peak frequency over the last 64 s of an NN series.

    Parameters
    ----------
    nn_ms : array_like
        Successive NN intervals, ms; beat ``i`` is at ``cumsum(nn)[i] / 1000`` s.
    squared : bool
        Square the ratio (McCraty et al. 2009).

    Returns
    -------
    ratio : float
        Peak power / (total power - peak power), dimensionless; NaN when the beats span less
        than 64 s (from the first beat to the last).
    peak_hz : float
        Frequency of the coherence peak, Hz (NaN likewise).
    """
    nn = np.asarray(nn_ms, dtype=np.float64).reshape(-1)
    if not np.all(np.isfinite(nn) & (nn > 0)):
        raise ValueError("NN intervals must be finite and > 0 ms")
    t = np.cumsum(nn) / 1000.0
    n = int(round(WINDOW_S * FS))
    if nn.size < 4 or t[-1] - t[0] < WINDOW_S:
        return math.nan, math.nan
    start = int(np.searchsorted(t, t[-1] - WINDOW_S, side="right")) - 1
    grid = t[-1] - WINDOW_S + np.arange(1, n + 1) / FS
    x = cubic_spline(t[start:], nn[start:], grid)
    f, p = psd(x, FS, n, _NFFT)
    df = f[1] - f[0]
    in_peak_band = np.flatnonzero((f >= PEAK_BAND[0]) & (f <= PEAK_BAND[1]))
    peak_hz = float(f[in_peak_band[np.argmax(p[in_peak_band])]])
    peak = p[np.abs(f - peak_hz) <= PEAK_WIDTH_HZ / 2 + 1e-12].sum() * df
    total = p[(f >= TOTAL_BAND[0]) & (f < TOTAL_BAND[1])].sum() * df
    ratio = float(peak / (total - peak)) if total > peak else math.inf
    return (ratio * ratio if squared else ratio), peak_hz


def coherence(nn_ms, *, squared: bool = False) -> float:
    """McCraty-style coherence ratio over the last 64 s (see module notes).

    Parameters
    ----------
    nn_ms : array_like
        Successive NN intervals, ms.
    squared : bool
        Square the ratio (McCraty et al. 2009).

    Returns
    -------
    float
        Dimensionless ratio; NaN when the series spans less than 64 s.
    """
    return coherence_peak(nn_ms, squared=squared)[0]


def rsa_amplitude(nn_ms, beat_times_s, breath_times_s) -> np.ndarray:
    """Peak-to-trough heart rate per breath (Grossman et al. 1990; Lehrer et al. 2000).

    For each breath cycle ``[breath_times_s[i], breath_times_s[i + 1])`` the amplitude is the
    highest minus the lowest instantaneous heart rate ``60000 / nn`` of the beats in it. With
    breath onsets only (no inspiration/expiration split) this is max - min over the cycle.

    Parameters
    ----------
    nn_ms : array_like
        NN intervals, ms.
    beat_times_s : array_like
        Time of the beat ending each interval, s, increasing.
    breath_times_s : array_like
        Breath onsets (e.g. start of inhalation), s, increasing.

    Returns
    -------
    ndarray, length ``len(breath_times_s) - 1``
        Amplitude per breath, bpm; NaN for a cycle with fewer than 2 beats.
    """
    hr = 60000.0 / np.asarray(nn_ms, dtype=np.float64).reshape(-1)
    bt = np.asarray(beat_times_s, dtype=np.float64).reshape(-1)
    br = np.asarray(breath_times_s, dtype=np.float64).reshape(-1)
    if hr.shape != bt.shape:
        raise ValueError(f"{hr.size} NN intervals but {bt.size} beat times")
    if br.size < 2:
        return np.empty(0)
    edges = np.searchsorted(bt, br, side="left")
    padded = np.append(hr, math.nan)  # an edge may equal len(hr)
    # reduceat over consecutive edges: [edges[i], edges[i + 1]) where it holds 2 beats or more
    swing = np.maximum.reduceat(padded, edges)[:-1] - np.minimum.reduceat(padded, edges)[:-1]
    return np.where(np.diff(edges) >= 2, swing, math.nan)


def coherence_stream_info(name: str = "coherence") -> StreamInfo:
    """Description of the live coherence stream: channels ``("coherence", "peak_hz")``."""
    return StreamInfo(name=name, kind="coherence", unit="a.u.", rate=0.0,
                      channels=("coherence", "peak_hz"), device=name, derived=True)


class CoherenceProcessor(GridProcessor):
    """Live coherence ratio every 5 s of session time (HeartMath update rate).

    Input: NN stream ``source`` (kind ``"nn"``, emitted by
    :class:`~biofeed.physio.rr.NNProcessor`; ms, irregular, timestamp = beat time, s). At every
    ``T = 5 k`` s the processor emits :func:`coherence_peak` of the NN beats with time in
    ``(T - 70 s, T]`` (64 s analysed, 6 s to reach the beat before the window); NaN until 64 s
    of beats exist. Emission times and values depend only on the NN stream, not on chunking.

    Parameters
    ----------
    source : str
        Name of the NN input stream.
    squared : bool
        Square the ratio (McCraty et al. 2009).
    name : str
        Name of the output stream.
    """

    def __init__(self, source: str = "rr.nn", squared: bool = False,
                 name: str = "coherence") -> None:
        super().__init__(source, period_s=5.0, history_s=WINDOW_S + 6.0)
        self.outputs = (coherence_stream_info(name),)
        self._squared = squared

    def _compute(self, t: float, times: np.ndarray, nn: np.ndarray) -> np.ndarray:
        if nn.size == 0:
            return np.array([math.nan, math.nan])
        return np.array(coherence_peak(nn, squared=self._squared))
