"""Tonic driver of EDA: the level of the deconvolved driver between SCR impulses, online.

On a grid of block means at about :data:`TONIC_GRID_HZ`, the tonic driver is the level of the
driver between its SCR impulses over a centred window (:func:`inter_impulse_level`),
interpolated linearly back to the samples. This is the CDA tonic estimate (Benedek &
Kaernbach 2010: the mean of the inter-impulse driver around each grid point), online and with
a bounded look-ahead; the phasic driver is the driver minus it. See :mod:`biofeed.physio.eda`
for the whole decomposition.

A mean, not a median: re-convolving the driver with the Bateman response (unit gain at 0 Hz)
maps the driver's mean to the conductance's mean, but the median of a skewed driver to no
level at all. The driver is skewed wherever the conductance falls in ADC steps: each step is
a narrow negative spike of the driver, so its median sits above its mean (a running median
put the tonic 0.06 uS above NeuroKit's slowly falling resting recording, and the phasic below
-0.05 uS for 19 % of it). Only SCR impulses are left out: a burst standing more than 3 MADs
above the window's median (SCRs are positive) with its flanks down to the local minimum on
each side, which takes the negative lobe the deconvolution leaves after a response faster
than the Bateman model (or sampled at 4 Hz) out with it. The level is a least-squares line
through the values left, taken at the window's centre: the mean when the impulses sit
symmetrically, and unbiased on a rising or falling level when they do not.

At the start and end of the data the window is cut to the values there are (none are made
up) and the line is taken at the grid point's own place in it, so the first tonic values
follow a level that rises or falls from the first sample, and an SCR at the first sample
stays out of the tonic.

References
----------
Benedek, M., & Kaernbach, C. (2010). A continuous measure of phasic electrodermal activity.
J Neurosci Methods 190(1), 80-91.
Cleveland, W. S. (1979). Robust locally weighted regression and smoothing scatterplots. J Am
Stat Assoc 74(368), 829-836 (local linear fits, unbiased at the edges of the data).
Hampel, F. R. (1974). The influence curve and its role in robust estimation. J Am Stat Assoc
69(346), 383-393 (median absolute deviation as a scale for outlier rejection).
"""
from __future__ import annotations

import functools

import numpy as np

from .filters import windows

__all__ = ["IMPULSE_REACH_S", "TONIC_GRID_HZ", "TonicDriver", "inter_impulse_level"]

#: Rate of the grid on which the tonic driver is evaluated, Hz (at least this fast).
TONIC_GRID_HZ = 4.0
#: Farthest an SCR impulse reaches from its burst down either flank, seconds: the negative
#: lobe after a response faster than the model ends about 1.4 s after the driver peak, the
#: tail of a slower one falls below 2 % of the peak by 2.3 s.
IMPULSE_REACH_S = 2.0


def inter_impulse_level(values: np.ndarray, reach: int, at: float, k: float = 3.0) -> np.ndarray:
    """Level of each row of ``values`` at position ``at``, from the values between impulses.

    An impulse is a run of values more than ``k`` MADs above the row median (the MAD as the
    scale: Hampel 1974) grown down both flanks while the values keep falling, at most
    ``reach`` values, so it spans the local minima on either side. The level is the
    least-squares line through the other values at position ``at`` (0 = first value; the
    centre of a full window, the grid point's own place in a window cut by the edge of the
    data): the mean of those values when they sit symmetrically about ``at`` (the CDA tonic
    estimate), without the bias a mean has on a rising or falling level when they do not
    (local linear fitting: Cleveland 1979). With fewer than half of the row's values between
    impulses the line is not trusted and their mean is the level; a row that is all impulse
    gives its median.

    Parameters
    ----------
    values : ndarray, shape (rows, width)
        Driver values, uS.
    reach : int
        Farthest an impulse grows from its run on either side, values (>= 0).
    at : float
        Position in the rows where the level is wanted.
    k : float
        Impulse threshold, MADs above the median.
    """
    width = values.shape[1]
    lo, hi = (width - 1) // 2, width // 2
    ordered = np.sort(values, axis=1)
    med = 0.5 * (ordered[:, lo] + ordered[:, hi])
    dev = np.abs(values - med[:, None])
    dev.partition((lo, hi), axis=1)
    impulse = values > (med + 0.5 * k * (dev[:, lo] + dev[:, hi]))[:, None]
    if reach > 0 and impulse.any():
        rows = len(values)               # forward in the rows, then backward (rows reversed)
        both = _grown(np.vstack([impulse, impulse[:, ::-1]]), np.vstack([values, values[:, ::-1]]),
                      reach)
        impulse = both[:rows] | both[rows:, ::-1]
    between = ~impulse
    powers, centre = _powers(width)
    # row sums, not matrix products: a BLAS product's rounding depends on how many rows it
    # is given, and the rows per call depend on chunking
    u, inside = powers[:, 1], np.where(between, values, 0.0)
    s0, s1, s2 = (np.add.reduce(between * p, axis=1) for p in powers.T)
    t0, t1 = np.add.reduce(inside, axis=1), np.add.reduce(inside * u, axis=1)
    line = 2 * s0 >= max(width, 3)       # enough values between impulses for a slope
    slope = np.where(line, (s0 * t1 - s1 * t0) / np.where(line, s0 * s2 - s1 * s1, 1.0), 0.0)
    level = (t0 - slope * s1) / np.maximum(s0, 1.0) + slope * (at - centre)
    return np.where(s0 > 0, level, med)


@functools.lru_cache(maxsize=64)
def _powers(width: int) -> tuple[np.ndarray, float]:
    """Columns 1, u, u^2 of the positions u of a row, centred on its middle (read-only), and
    the middle's position."""
    centre = (width - 1) / 2
    u = np.arange(width) - centre
    powers = np.column_stack([np.ones(width), u, u * u])
    powers.flags.writeable = False
    return powers, centre


def _grown(impulse: np.ndarray, values: np.ndarray, reach: int) -> np.ndarray:
    """``impulse`` grown forward along each row while the values fall, at most ``reach``.

    Value ``i`` joins when the last impulse value at or before it lies in the same falling run
    (every step from there to ``i`` goes down) and at most ``reach`` values back.
    """
    index = np.arange(values.shape[1])
    run_start = np.ones(values.shape, dtype=bool)
    run_start[:, 1:] = values[:, 1:] >= values[:, :-1]         # no fall into value i
    since_rise = np.maximum.accumulate(np.where(run_start, index, 0), axis=1)
    last = np.maximum.accumulate(np.where(impulse, index, -1), axis=1)
    return (last >= since_rise) & (last >= index - reach)


class TonicDriver:
    """Running inter-impulse level of the driver on a decimated grid, interpolated back.

    Grid value ``j`` is the mean driver over samples ``j * step .. (j + 1) * step - 1``, placed
    at their centre (``step`` = ``fs`` / :data:`TONIC_GRID_HZ`, rounded down, at least 1); the
    tonic driver there is the :func:`inter_impulse_level` of the grid values ``j - half .. j +
    half`` at ``j`` (``2 half + 1`` grid values span about ``window_s``), the window cut to the
    grid values there are at the start and at the end of the data. Sample ``n`` is final once
    the grid point after it is known: a look-ahead of at most ``(half + 1) * step`` samples.

    Parameters
    ----------
    fs : float
        Sampling rate of the driver, Hz.
    window_s : float
        Width of the centred window, seconds.
    """

    def __init__(self, fs: float, window_s: float) -> None:
        self.step = step = max(1, int(fs // TONIC_GRID_HZ))
        self.half = max(1, int(round(window_s * fs / step / 2)))
        self._reach = int(np.ceil(IMPULSE_REACH_S * fs / step))
        self._n = 0                 # driver samples received
        self._done = 0              # driver samples released
        self._d = np.empty(0)       # driver samples not released yet
        self._block = np.empty(0)   # driver samples of the grid block being filled
        self._g = np.empty(0)       # grid values still needed by some window
        self._g0 = 0                # grid index of _g[0]
        self._next = 0              # next grid index whose tonic value is due
        self._anchor: tuple[int, float] | None = None   # last released (grid index, value)

    @property
    def lookahead(self) -> int:
        """Samples between the newest input and the newest released sample."""
        return (self.half + 1) * self.step

    def update(self, d: np.ndarray, final: bool = False) -> tuple[int, np.ndarray, np.ndarray]:
        """Add driver samples; return (first index, driver, tonic driver) of released samples."""
        self._n += d.size
        self._d = np.concatenate([self._d, d])
        self._block = np.concatenate([self._block, d])
        whole = self._block.size // self.step * self.step
        grid = self._block[:whole].reshape(-1, self.step).mean(axis=1)
        self._block = self._block[whole:]
        if final and self._block.size:
            grid = np.concatenate([grid, [self._block.mean()]])
            self._block = np.empty(0)
        if grid.size:
            self._g = np.concatenate([self._g, grid])
        known = self._g0 + self._g.size                      # grid values known
        last = known - 1 if final else known - 1 - self.half  # last grid index computable now
        if last >= self._next:
            values = self._levels(self._next, last, known)
            idx = np.arange(self._next, last + 1)
            if self._anchor is not None:
                idx = np.concatenate([[self._anchor[0]], idx])
                values = np.concatenate([[self._anchor[1]], values])
            self._anchor = (int(idx[-1]), float(values[-1]))
            self._next = last + 1
            keep = max(0, self._next - self.half) - self._g0
            self._g, self._g0 = self._g[keep:], self._g0 + keep
            centre = idx * self.step + (self.step - 1) / 2
            upto = self._n if final else min(self._n, int(np.floor(centre[-1])) + 1)
            n = np.arange(self._done, upto)
            tonic = np.interp(n, centre, values)
        elif final and self._anchor is not None:
            n = np.arange(self._done, self._n)
            tonic = np.full(n.size, self._anchor[1])
        else:
            return self._done, np.empty(0), np.empty(0)
        start, out = self._done, self._d[:n.size]
        self._d, self._done = self._d[n.size:], self._done + n.size
        return start, out, tonic

    def _levels(self, first: int, last: int, known: int) -> np.ndarray:
        """Tonic driver at grid indices ``first .. last`` (grid values ``0 .. known - 1``)."""
        h, g0 = self.half, self._g0
        full_lo, full_hi = max(first, h), min(last, known - 1 - h)   # windows not cut short

        def cut(j: int) -> np.ndarray:
            lo = max(0, j - h)
            row = self._g[lo - g0:min(known, j + h + 1) - g0]
            return inter_impulse_level(row[None, :], self._reach, j - lo)

        parts = [cut(j) for j in range(first, min(full_lo, last + 1))]
        if full_hi >= full_lo:
            rows = windows(self._g[full_lo - h - g0:full_hi + h + 1 - g0], 2 * h + 1)
            parts.append(inter_impulse_level(rows, self._reach, h))
        parts += [cut(j) for j in range(max(full_lo, full_hi + 1), last + 1)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)
