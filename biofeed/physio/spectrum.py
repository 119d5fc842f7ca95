"""Power spectra of NN series: even resampling, Welch's and Burg's estimates.

* Resampling (:func:`resample_nn`): a natural cubic spline through the beat times, sampled at
  4 Hz (Task Force 1996); long series are interpolated piece by piece, so memory does not grow
  with their length.
* Welch (1967) (:func:`welch_psd`): periodic Hann windows, each segment linearly detrended
  (the trend of a segment is removed, not the slower smoothness-priors trend Kubios removes
  from the whole series, Tarvainen et al. 2002), segments overlapping by about half and laid
  from the first sample to the last, so every part of the series is analysed
  (:func:`welch_layout`). Long series use segments of ``segment_s`` (256 s); a series
  shorter than five such segments is cut into about nine segments of a fifth of its length
  (never shorter than 60 s, or the whole series when it is shorter), so the start, the middle
  and the end of a 5 min window count about alike: the weights of its thirds (the sum of
  the squared windows) are 0.96, 1.08 and 0.96, where one Hann periodogram gives 0.38, 2.24
  and 0.38 and hides the most recent minute of a live window. The price is resolution: 60 s
  segments put part of a component at 0.06 Hz into VLF (LF -3 % at 0.06 Hz, -0 % at 0.1 Hz).
* Burg (1967) (:func:`ar_model`, :func:`ar_band_powers`): an autoregressive model of order
  16 (Kubios' default) fitted by Burg's method (Kay & Marple 1981) to the linearly detrended
  series resampled at :data:`AR_RESAMPLE_HZ` (1 Hz); its spectrum weights every sample alike.
  At 1 Hz the 16 coefficients span 16 s, enough to keep VLF, LF and HF peaks apart: at 4 Hz
  they span 4 s and merge a 0.02 Hz component into LF (on 800 + 40 sin 0.02 Hz + 30 sin
  0.1 Hz + 20 sin 0.25 Hz over 30 min, VLF / LF / HF 516 / 550 / 202 ms^2 at 4 Hz, 798 /
  448 / 197 at 1 Hz, truth 800 / 450 / 198; Kubios avoids it by removing the VLF trend
  first). 1 Hz puts the Nyquist frequency at 0.5 Hz: breathing faster than 0.6 Hz (36 per
  minute) would alias into HF.

Densities are one-sided, unit^2 / Hz (ms^2 / Hz for NN in ms); band powers are sums of the
density over the band's bins times the bin width.

References
----------
Burg, J. P. (1967). Maximum entropy spectral analysis. 37th Meeting of the Society of
Exploration Geophysicists.
Kay, S. M., & Marple, S. L. (1981). Spectrum analysis: a modern perspective. Proc IEEE 69(11),
1380-1419.
Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement.
Circulation 93(5), 1043-1065.
Welch, P. D. (1967). The use of fast Fourier transform for the estimation of power spectra.
IEEE Trans Audio Electroacoust 15(2), 70-73.
"""
from __future__ import annotations

import functools
import math

import numpy as np
import scipy.linalg.lapack

#: Resampling rate of NN series, Hz (Task Force 1996).
RESAMPLE_HZ = 4.0
#: Welch segment length of long series, s (Kubios uses 256-300 s).
SEGMENT_S = 256.0
#: Shortest Welch segment of a short series, s.
MIN_SEGMENT_S = 60.0
#: A series shorter than this many ``segment_s`` is cut into segments of 1 / this of its length.
SHORT_SEGMENTS = 5
#: Order of the autoregressive model (Kubios' default).
AR_ORDER = 16
#: Resampling rate of the series the AR model is fitted to, Hz (see module notes).
AR_RESAMPLE_HZ = 1.0
#: Bins of the AR spectrum per Hz (its density is a smooth function, evaluated on this grid).
AR_BINS_PER_HZ = 1024

#: Knots per piece of the spline resampling of long series (:func:`resampled`); every piece is
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


def checked_nn(nn_ms) -> tuple[np.ndarray, float, float]:
    """NN intervals as float64 (ms), validated finite and > 0, with their minimum and maximum
    (NaN if empty)."""
    nn = np.asarray(nn_ms, dtype=np.float64).reshape(-1)
    if nn.size == 0:
        return nn, math.nan, math.nan
    lo, hi = float(nn.min()), float(nn.max())
    if not (lo > 0 and hi < math.inf):  # NaN fails the first test
        raise ValueError("NN intervals must be finite and > 0 ms")
    return nn, lo, hi


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


def resampled(nn: np.ndarray, fs: float):
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
    to rounding, see :func:`resampled`).

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
    nn = checked_nn(nn_ms)[0]
    if nn.size < 2:
        raise ValueError("resampling needs at least 2 NN intervals")
    n_samples, blocks = resampled(nn, fs)
    out = np.empty(n_samples)
    a = 0
    for block in blocks:
        out[a:a + block.size] = block
        a += block.size
    return out



def psd(x: np.ndarray, fs: float, nperseg: int, nfft: int) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD with segments every ``nperseg - nperseg // 2`` samples from the start (Welch
    1967): Hann windows, linear detrend per segment.

    Equal to ``scipy.signal.welch(x, fs, "hann", nperseg, nperseg // 2, nfft, "linear")``
    (density scaling, one-sided, mean of segments), without its per-call overhead. Samples
    after the last whole segment are not used: :func:`welch_psd` lays segments over the whole
    series.

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
    starts = np.arange(0, x.size - nperseg + 1, nperseg - nperseg // 2)
    return frequencies(nfft, fs).copy(), welch((x,), fs, nperseg, nfft, starts)


def welch_layout(n: int, fs: float, segment_s: float = SEGMENT_S) -> tuple[int, np.ndarray, int]:
    """Segments of :func:`welch_psd` for ``n`` samples: length, starts and FFT length.

    The segment length is ``segment_s`` for series of at least :data:`SHORT_SEGMENTS` such
    segments, else a fifth of the series, but at least :data:`MIN_SEGMENT_S` (or the whole
    series when it is shorter). K = max(1, round(2 (n - L) / L) + 1) segments of L samples
    start at ``round(k (n - L) / (K - 1))``: the first at sample 0, the last ending at the last
    sample, overlapping by about half. FFTs are zero-padded to the power of two at or above
    twice the segment (finer bins at the band edges).

    Returns
    -------
    nperseg : int
    starts : ndarray of int
    nfft : int
    """
    full = segment_s * fs
    nperseg = int(round(min(full, max(n / SHORT_SEGMENTS, min(n, MIN_SEGMENT_S * fs)))))
    nperseg = max(1, min(nperseg, n))
    k = max(1, round(2 * (n - nperseg) / nperseg) + 1)
    starts = np.round(np.linspace(0, n - nperseg, k)).astype(np.int64)
    return nperseg, starts, 1 << math.ceil(math.log2(2 * nperseg))


def welch_psd(x: np.ndarray, fs: float, segment_s: float = SEGMENT_S
              ) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD over the whole series, segments laid by :func:`welch_layout`.

    Parameters
    ----------
    x : ndarray
        Evenly sampled signal (e.g. ms).
    fs : float
        Sampling rate, Hz.
    segment_s : float
        Segment length of long series, s.

    Returns
    -------
    f, p : ndarray
        Frequencies (Hz) and one-sided density (unit^2 / Hz).
    """
    x = np.ascontiguousarray(x, dtype=np.float64)
    nperseg, starts, nfft = welch_layout(x.size, fs, segment_s)
    return frequencies(nfft, fs).copy(), welch((x,), fs, nperseg, nfft, starts)


def welch(blocks, fs: float, nperseg: int, nfft: int, starts: np.ndarray) -> np.ndarray:
    """Welch density of the signal given as consecutive ``blocks``, segments of ``nperseg``
    samples at the increasing sample indices ``starts``.

    Segments are transformed in batches of :data:`_WELCH_BATCH` as soon as they are complete;
    only the samples from the first pending segment on are kept, so memory does not grow with
    the series.
    """
    w, basis, power = _taper(nperseg)
    offsets = np.arange(nperseg)
    total = None
    buf, buf0, done = np.empty(0), 0, 0   # samples kept, index of buf[0], segments done
    for block in blocks:
        buf = np.concatenate((buf, block)) if buf.size else np.asarray(block, np.float64)
        ready = done + int(np.searchsorted(starts[done:] + nperseg, buf0 + buf.size, "right"))
        for a in range(done, ready, _WELCH_BATCH):
            seg = buf[(starts[a:min(a + _WELCH_BATCH, ready)] - buf0)[:, None] + offsets]
            seg -= np.add.reduce(seg, axis=1, keepdims=True) / nperseg  # the mean
            seg -= (seg @ basis)[:, None] * basis                       # the linear trend
            spec = np.fft.rfft(seg * w, n=nfft, axis=1)
            batch = np.add.reduce(spec.real ** 2 + spec.imag ** 2, axis=0)
            total = batch if total is None else total + batch
        done = ready
        keep = int(starts[done]) - buf0 if done < starts.size else buf.size
        buf, buf0 = buf[keep:], buf0 + keep
    if total is None:
        raise ValueError(f"fewer than nperseg = {nperseg} samples")
    p = total / done / (fs * power)
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
def frequencies(nfft: int, fs: float) -> np.ndarray:
    """Frequencies of an ``nfft``-point one-sided spectrum, Hz (read-only, cached)."""
    f = np.fft.rfftfreq(nfft, 1.0 / fs)
    f.flags.writeable = False
    return f


def burg(x: np.ndarray, order: int = AR_ORDER) -> tuple[np.ndarray, float, float]:
    """Autoregressive model of ``x`` by Burg's method (Burg 1967; Kay & Marple 1981).

    The reflection coefficient of each order minimises the summed forward and backward
    prediction errors; the Levinson recursion turns them into the model coefficients. The
    model is always stable (every reflection coefficient has magnitude < 1).

    Parameters
    ----------
    x : ndarray
        Zero-mean signal, more than ``order`` samples.
    order : int
        Model order.

    Returns
    -------
    a : ndarray
        ``order + 1`` coefficients, ``a[0] = 1``: ``x[n] + a[1] x[n-1] + ... = e[n]``.
    sigma2 : float
        Variance of the innovation ``e``, unit^2.
    variance : float
        Variance of the model process, ``mean(x^2)`` (Burg's estimate keeps it), unit^2.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size <= order:
        raise ValueError(f"an AR model of order {order} needs more than {order} samples, "
                         f"got {x.size}")
    f, b = x[1:], x[:-1]          # forward errors at n, backward errors at n - 1
    a = np.ones(1)
    variance = sigma2 = float(x @ x) / x.size
    for _ in range(order):
        den = float(f @ f + b @ b)
        k = -2.0 * float(f @ b) / den if den > 0 else 0.0
        a = np.concatenate((a, [0.0]))
        a = a + k * a[::-1]
        sigma2 *= 1.0 - k * k
        f, b = f[1:] + k * b[1:], b[:-1] + k * f[:-1]
    return a, sigma2, variance


def ar_model(x: np.ndarray, order: int = AR_ORDER) -> tuple[np.ndarray, float, float]:
    """:func:`burg` of the linearly detrended series ``x`` (e.g. ms)."""
    x = np.asarray(x, dtype=np.float64)
    ramp = np.arange(x.size) - (x.size - 1) / 2.0
    x = x - x.mean()
    if x.size > 1:
        x = x - ramp * (float(ramp @ x) / float(ramp @ ramp))
    return burg(x, order)


def ar_density(a: np.ndarray, sigma2: float, fs: float, f: np.ndarray) -> np.ndarray:
    """One-sided density ``2 sigma2 / (fs |A(f)|^2)`` of the AR model ``a`` at ``f`` (Hz),
    unit^2 / Hz."""
    z = np.exp(-2j * np.pi * np.outer(np.asarray(f, np.float64), np.arange(a.size)) / fs)
    return 2.0 * sigma2 / fs / np.abs(z @ a) ** 2


def ar_band_powers(a: np.ndarray, sigma2: float, variance: float, fs: float,
                   bands: dict[str, tuple[float, float]]
                   ) -> tuple[dict[str, float], dict[str, float]]:
    """Power (unit^2) and peak frequency (Hz) of the AR model ``a`` in each band.

    Powers are the exact integrals of the density over ``lo <= f < hi``: with the model's
    poles ``p_i``, its autocorrelation is ``sum_i rho_i p_i^|k|`` and the integral of each
    term has a closed form in ``log(1 - p_i exp(-j w))`` (partial fractions, as in the
    spectral decomposition of Zetterberg 1969; Baselli et al. 1987), so no peak falls between
    bins. When poles are so close that the partial fractions lose precision (their total
    misses ``variance`` by more than 1e-6), the density is summed on a grid of 65,536 bins per
    Hz instead. Peaks: the density's maximum in the band over :data:`AR_BINS_PER_HZ` bins per
    Hz and the poles' own frequencies.
    """
    poles = np.roots(a)
    with np.errstate(all="ignore"):
        others = poles[None, :] / poles[:, None]
        np.fill_diagonal(others, 0.0)
        rho = 1.0 / (np.prod(1.0 - others, axis=1) * np.polyval(a[::-1], poles))

        def integral(lo, hi):      # one-sided power over lo..hi Hz (w in rad / sample)
            w1, w2 = 2.0 * np.pi * lo / fs, 2.0 * np.pi * hi / fs

            def log(w, sign):
                return np.log(1.0 - poles * np.exp(sign * 1j * w))

            part = (w2 - w1) + 1j * (log(w2, 1) - log(w1, 1) - log(w2, -1) + log(w1, -1))
            return float((sigma2 / np.pi * np.sum(rho * part)).real)

        exact = abs(integral(0.0, fs / 2.0) - variance) <= 1e-6 * variance
    nfft = 1 << math.ceil(math.log2(AR_BINS_PER_HZ * fs))
    grid = frequencies(nfft, fs)
    density = 2.0 * sigma2 / fs / np.abs(np.fft.rfft(a, n=nfft)) ** 2
    angles = np.abs(np.angle(poles)) * fs / (2.0 * np.pi)
    power, peak = {}, {}
    for name, (lo, hi) in bands.items():
        if exact:
            power[name] = integral(lo, hi)
        else:
            fine = np.arange(lo, hi, 1.0 / 65536.0)
            power[name] = float(ar_density(a, sigma2, fs, fine).sum() / 65536.0)
        i, j = np.searchsorted(grid, (lo, hi))
        at_poles = angles[(angles >= lo) & (angles < hi)]
        f = np.concatenate((grid[i:j], at_poles))
        d = np.concatenate((density[i:j], ar_density(a, sigma2, fs, at_poles)))
        peak[name] = float(f[np.argmax(d)]) if f.size else math.nan
    return power, peak
