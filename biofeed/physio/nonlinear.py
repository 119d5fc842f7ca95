"""Nonlinear HRV indices of an NN series: sample entropy, approximate entropy and DFA.

Pure functions of one NN series (ms, 1-D), each returning a float, or NaN when the series is
too short for the index (the minimum is stated per function). They run on live windows
(60-400 beats, a few milliseconds for all of them) and on whole 24 h records (about 100,000
beats) alike:

* Entropies count template matches with a k-d tree (``scipy.spatial.cKDTree``, Chebyshev
  distance) instead of comparing all pairs, so memory stays linear in the number of beats
  (about 10 MB at 100,000 beats). Time still grows with the number of matching pairs, which
  is large on long records (r is a fraction of the SD of the whole series).
* DFA computes the residual of every box of every scale together from running sums over
  windows of the integrated series (:func:`_box_residuals`), a fixed number of array
  operations whatever the number of scales (memory about 25 values per beat, 20 MB at
  100,000 beats).

Parameters follow the HRV conventions of Kubios and neurokit2's ``hrv_nonlinear``: embedding
dimension m = 2, tolerance r = 0.2 x the SD (ddof = 1) of the series, DFA alpha1 over 4-16
beats and alpha2 over 16-64 beats.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.spatial import cKDTree

__all__ = ["ALPHA1_SCALES", "ALPHA2_SCALES", "DFA_FLAT_BOX", "DFA_MIN_BOXES",
           "approximate_entropy", "dfa", "dfa_alpha1", "dfa_alpha2", "sample_entropy"]

#: Box sizes (beats) of the short-term DFA exponent alpha1 (Peng et al. 1995; Kubios).
ALPHA1_SCALES = tuple(range(4, 17))
#: Box sizes (beats) of the long-term DFA exponent alpha2 (Peng et al. 1995; Kubios).
ALPHA2_SCALES = tuple(range(16, 65))
#: DFA needs the series to hold this many of its largest boxes: the largest box is at most a
#: quarter of the series, the default of Peng's reference implementation (PhysioNet dfa.c).
DFA_MIN_BOXES = 4
#: Series up to this many beats have their entropies counted pair by pair (:func:`entropies`).
PAIR_BEATS = 2000
#: DFA leaves out boxes whose residual variance is at most this fraction of the largest of
#: their scale (neurokit2's ``fractal_dfa``).
DFA_FLAT_BOX = 1e-8
#: Boxes whose residuals are computed together (bounds the temporary arrays to a few MB).
_BOX_CHUNK = 1 << 15


def _series(nn_ms) -> np.ndarray:
    """``nn_ms`` as a 1-D float array; ValueError unless it is 1-D and finite."""
    x = np.asarray(nn_ms, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"NN series must be 1-D, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("NN series must be finite")
    return x


def _entropy_args(nn_ms, m, r) -> tuple[np.ndarray, int, float]:
    """The series, m as an int and the tolerance r x SD (ms); ValueError for a bad m or r."""
    if int(m) != m or m < 1:
        raise ValueError(f"embedding dimension m must be a positive integer, got {m}")
    if not (np.isfinite(r) and r > 0):
        raise ValueError(f"tolerance r must be a positive fraction of the SD, got {r}")
    x = _series(nn_ms)
    return x, int(m), float(r * np.std(x, ddof=1)) if x.size > 1 else 0.0


def _templates(x: np.ndarray, length: int, count: int) -> cKDTree:
    """k-d tree of the first ``count`` templates ``x[i:i + length]``."""
    return cKDTree(np.ascontiguousarray(sliding_window_view(x, length)[:count]))


def _pair_counts(x: np.ndarray, m: int, tol: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Template matches, from the pairs whose first values are within the tolerance.

    Templates are sorted by their first value, so the candidates of each one are a
    contiguous run found by binary search (widened by a rounding margin); every candidate
    pair is then checked exactly, value by value. Returns the match counts (self included)
    of each of the N - m + 1 templates of length ``m`` and of each of the N - m templates of
    length ``m + 1`` (ApEn), and SampEn's B and A: ordered pairs of distinct templates among
    the first N - m, at lengths ``m`` and ``m + 1``. One pass serves both entropies; the
    candidate pairs are about a tenth of all pairs (r = 0.2 SD), held in memory at once, so
    it serves series up to :data:`PAIR_BEATS` beats.
    """
    n1, n2 = x.size - m + 1, x.size - m
    first = x[:n1]
    order = np.argsort(first, kind="stable")
    ordered = first[order]
    margin = 1e-9 * (abs(tol) + float(np.abs(ordered).max(initial=0.0)))
    lo = np.searchsorted(ordered, ordered - tol - margin, "left")
    hi = np.searchsorted(ordered, ordered + tol + margin, "right")
    runs = hi - lo
    a = np.repeat(np.arange(n1), runs)
    b = np.arange(runs.sum()) - np.repeat(np.cumsum(runs) - runs - lo, runs)
    i, j = order[a], order[b]
    ok = np.abs(x[i] - x[j]) <= tol
    for k in range(1, m):
        ok &= np.abs(x[i + k] - x[j + k]) <= tol
    counts_m = np.bincount(i[ok], minlength=n1).astype(np.float64)
    both = ok & (i < n2) & (j < n2)
    i, j = i[both], j[both]
    ok1 = np.abs(x[i + m] - x[j + m]) <= tol
    counts_m1 = np.bincount(i[ok1], minlength=max(n2, 0)).astype(np.float64)
    return counts_m, counts_m1, i.size - n2, int(np.count_nonzero(ok1)) - n2


def _sampen(b: int, a: int) -> float:
    return float(-np.log(a / b)) if a > 0 and b > 0 else float("nan")


def _apen(counts_m: np.ndarray, counts_m1: np.ndarray) -> float:
    return float(np.mean(np.log(counts_m / counts_m.size))
                 - np.mean(np.log(counts_m1 / counts_m1.size)))


def entropies(nn_ms, m: int = 2, r: float = 0.2) -> tuple[float, float]:
    """:func:`approximate_entropy` and :func:`sample_entropy` of one series, the same values;
    up to :data:`PAIR_BEATS` beats from one pass over the candidate pairs (a live window of
    375 beats: about 0.2 ms, against 4 ms for the two k-d tree counts)."""
    x, m, tol = _entropy_args(nn_ms, m, r)
    if x.size > PAIR_BEATS:
        return approximate_entropy(x, m, r), sample_entropy(x, m, r)
    if x.size < m + 1:
        return float("nan"), float("nan")
    counts_m, counts_m1, b, a = _pair_counts(x, m, tol)
    return _apen(counts_m, counts_m1), _sampen(b, a) if x.size >= m + 2 else float("nan")


def sample_entropy(nn_ms, m: int = 2, r: float = 0.2) -> float:
    """Sample entropy (SampEn) of an NN series (Richman & Moorman 2000).

    SampEn = -ln(A / B): B is the number of ordered pairs of distinct templates of ``m``
    successive NN intervals within the tolerance of each other (Chebyshev distance, the
    largest absolute difference, <= tolerance), A the same for templates of ``m + 1``
    intervals. Self-matches are excluded, and both lengths use the same N - m templates
    (those starting at beats 0 .. N - m - 1), as in the paper and neurokit2's
    ``entropy_sample``.

    Parameters
    ----------
    nn_ms : array_like
        NN intervals, ms (1-D, finite).
    m : int
        Embedding dimension (template length), beats.
    r : float
        Tolerance as a fraction of the SD of the series (ddof = 1); a constant series has
        tolerance 0, so all its templates match and SampEn is 0.

    Returns
    -------
    float
        SampEn (dimensionless). NaN for fewer than ``m + 2`` beats (two templates) and when
        SampEn is undefined: no pair matches at length ``m`` (B = 0) or none at ``m + 1``
        (A = 0; neurokit2 returns -inf and inf there).

    References
    ----------
    Richman JS, Moorman JR (2000). Physiological time-series analysis using approximate
    entropy and sample entropy. Am J Physiol Heart Circ Physiol 278:H2039-H2049.
    """
    x, m, tol = _entropy_args(nn_ms, m, r)
    count = x.size - m
    if count < 2:
        return float("nan")
    # count_neighbors counts ordered pairs within tol, each template with itself included
    pairs = []
    for length in (m, m + 1):
        tree = _templates(x, length, count)
        pairs.append(tree.count_neighbors(tree, tol, p=np.inf) - count)
    return _sampen(*pairs)


def approximate_entropy(nn_ms, m: int = 2, r: float = 0.2) -> float:
    """Approximate entropy (ApEn) of an NN series (Pincus 1991).

    ApEn = Phi(m) - Phi(m + 1), where Phi(k) is the mean over all N - k + 1 templates of k
    successive NN intervals of ln(C_i / (N - k + 1)), and C_i counts the templates within
    the tolerance of template i (Chebyshev distance <= tolerance), itself included. On a
    strictly periodic series it can come out slightly negative (about -1e-5 at 300 beats);
    neurokit2's ``entropy_approximate`` returns the absolute value, otherwise the two are the
    same.

    Parameters
    ----------
    nn_ms : array_like
        NN intervals, ms (1-D, finite).
    m : int
        Embedding dimension (template length), beats.
    r : float
        Tolerance as a fraction of the SD of the series (ddof = 1).

    Returns
    -------
    float
        ApEn (dimensionless); NaN for fewer than ``m + 1`` beats (one template of m + 1).

    References
    ----------
    Pincus SM (1991). Approximate entropy as a measure of system complexity. Proc Natl Acad
    Sci USA 88:2297-2301.
    """
    x, m, tol = _entropy_args(nn_ms, m, r)
    if x.size < m + 1:
        return float("nan")
    counts = []
    for length in (m, m + 1):
        tree = _templates(x, length, x.size - length + 1)
        counts.append(tree.query_ball_point(tree.data, tol, p=np.inf, return_length=True))
    return _apen(*counts)


def _box_residuals(profile: np.ndarray, start: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Sum of squared residuals (ms^2) of the least-squares line through each box
    ``profile[start:start + size]`` of the integrated series.

    Running sums over the whole record would lose the residuals to rounding (on 24 h the sums
    of squares reach 1e17 ms^2 while a 4-beat residual is about 1e3). So the profile is cut
    into windows of ``2 L`` beats starting every ``L`` = largest box beats, each window minus
    the chord through its ends (a straight line does not change any box's residual), and the
    sums run within a window: every box lies inside the window of the block it starts in.
    """
    block = int(size.max())
    width = 2 * block
    n_blocks = -(-profile.size // block)
    padded = np.concatenate((profile, np.full(n_blocks * block + block - profile.size,
                                              profile[-1])))
    win = sliding_window_view(padded, width)[::block]
    j = np.arange(width)
    w = win - win[:, :1] - np.outer((win[:, -1] - win[:, 0]) / (width - 1), j)
    zero = np.zeros((n_blocks, 1))
    c0 = np.hstack((zero, np.cumsum(w, axis=1)))
    c1 = np.hstack((zero, np.cumsum(w * j, axis=1)))
    c2 = np.hstack((zero, np.cumsum(w * w, axis=1)))
    out = np.empty(start.size)
    for lo in range(0, start.size, _BOX_CHUNK):
        part = slice(lo, lo + _BOX_CHUNK)
        n = size[part]
        b, o = np.divmod(start[part], block)
        e = o + n
        s0 = c0[b, e] - c0[b, o]
        # sum of (k - (n - 1) / 2) w over the box, k = j - o the position in the box
        st = c1[b, e] - c1[b, o] - (o + (n - 1) / 2) * s0
        out[part] = c2[b, e] - c2[b, o] - s0 * s0 / n - st * st / (n * (n * n - 1) / 12)
    return out


def dfa(nn_ms, scales: Iterable[int]) -> float:
    """Detrended fluctuation analysis exponent alpha of an NN series (Peng et al. 1995).

    The series minus its mean is integrated (cumulative sum, ms); for each box size n in
    ``scales`` it is cut into boxes of n beats, a least-squares line is removed from each box,
    and F(n) is the root mean square of what is left, over the boxes. alpha is the slope of
    the least-squares line of ln F(n) on ln n, every scale weighted equally.

    Choices, as neurokit2's ``fractal_dfa`` (default ``overlap=True``), so the two agree on
    short windows too: boxes of n beats start every floor(n / 2) beats from the first beat
    (half-overlapping) while the start is before beat N - n (so a box ending exactly at the
    last beat is not used); boxes run in one direction only (not also from the end, as in
    Kantelhardt et al. 2001); boxes whose residual variance is at most
    :data:`DFA_FLAT_BOX` times the largest of their scale are left out (on RR series
    quantised by a 100 Hz ECG, runs of equal intervals give boxes with no fluctuation at
    all: counting them changed alpha1 of 300-beat windows by up to 10 %); and every integer
    scale of a range is used (:data:`ALPHA1_SCALES`, :data:`ALPHA2_SCALES`).

    Parameters
    ----------
    nn_ms : array_like
        NN intervals, ms (1-D, finite).
    scales : iterable of int
        Box sizes, beats: at least two distinct integers >= 3 (a line through 2 points
        leaves nothing to measure).

    Returns
    -------
    float
        alpha (dimensionless): about 0.5 for uncorrelated intervals, 1 for 1/f noise, 1.5
        for a random walk. NaN when the series has fewer than :data:`DFA_MIN_BOXES` times
        the largest scale beats (64 for alpha1, 256 for alpha2), or when some scale leaves
        no fluctuation in any box (e.g. constant NN).

    References
    ----------
    Peng C-K, Havlin S, Stanley HE, Goldberger AL (1995). Quantification of scaling
    exponents and crossover phenomena in nonstationary heartbeat time series. Chaos
    5:82-87.
    """
    n_box = np.unique(np.asarray(list(scales)))
    if n_box.size < 2 or n_box.dtype.kind not in "iu" or n_box[0] < 3:
        raise ValueError(f"DFA needs at least two distinct integer scales >= 3, got {scales}")
    x = _series(nn_ms)
    if x.size < DFA_MIN_BOXES * n_box[-1]:
        return float("nan")
    starts = [np.arange(0, x.size - n, n // 2) for n in n_box]
    per_scale = np.array([len(b) for b in starts])
    first = np.concatenate(([0], np.cumsum(per_scale)[:-1]))
    size = np.repeat(n_box, per_scale)
    var = _box_residuals(np.cumsum(x - x.mean()), np.concatenate(starts), size) / size
    largest = np.maximum(np.maximum.reduceat(var, first), 0.0)
    kept = var > DFA_FLAT_BOX * np.repeat(largest, per_scale)
    n_kept = np.add.reduceat(kept.astype(np.int64), first)
    if not n_kept.all():
        return float("nan")
    fluct = np.add.reduceat(np.where(kept, var, 0.0), first) / n_kept
    # F(n)^2 is fitted, so the slope is 2 alpha
    return float(np.polyfit(np.log(n_box), np.log(fluct), 1)[0] / 2)


def dfa_alpha1(nn_ms) -> float:
    """Short-term DFA exponent alpha1: :func:`dfa` over boxes of 4-16 beats (Peng et al.
    1995; Kubios). NaN for fewer than 64 beats."""
    return dfa(nn_ms, ALPHA1_SCALES)


def dfa_alpha2(nn_ms) -> float:
    """Long-term DFA exponent alpha2: :func:`dfa` over boxes of 16-64 beats (Peng et al.
    1995; Kubios). NaN for fewer than 256 beats."""
    return dfa(nn_ms, ALPHA2_SCALES)
