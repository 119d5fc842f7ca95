"""Tonic driver of EDA: the level of the deconvolved driver between SCR bursts, online.

A running median of the driver over a centred window, after dropping values more than 3 MADs
from the median (the SCR bursts), evaluated on block means at about :data:`TONIC_GRID_HZ` and
interpolated linearly. Like the CDA tonic estimate (Benedek & Kaernbach 2010) it is the driver
level between the bursts; the phasic driver is the driver minus it. See
:mod:`biofeed.physio.eda` for the whole decomposition.

References
----------
Benedek, M., & Kaernbach, C. (2010). A continuous measure of phasic electrodermal activity.
J Neurosci Methods 190(1), 80-91.
"""
from __future__ import annotations

import numpy as np

from .filters import windows

__all__ = ["TONIC_GRID_HZ", "TonicDriver", "clipped_median"]

#: Rate of the grid on which the tonic driver is evaluated, Hz (at least this fast).
TONIC_GRID_HZ = 4.0


def clipped_median(values: np.ndarray, k: float = 3.0) -> np.ndarray:
    """Median of each row of ``values`` after dropping values more than ``k`` MADs from the
    row median.

    One pass of sigma clipping: SCR bursts are large positive outliers of the driver, noise
    stays, so the result is the level of the driver between bursts.
    """
    rows = np.sort(values, axis=1)
    width = rows.shape[1]
    med = 0.5 * (rows[:, (width - 1) // 2] + rows[:, width // 2])
    dev = np.partition(np.abs(rows - med[:, None]), ((width - 1) // 2, width // 2), axis=1)
    mad = 0.5 * (dev[:, (width - 1) // 2] + dev[:, width // 2])
    lo = np.sum(rows < (med - k * mad)[:, None], axis=1)
    count = np.sum(rows <= (med + k * mad)[:, None], axis=1) - lo
    index = np.arange(rows.shape[0])
    return 0.5 * (rows[index, lo + (count - 1) // 2] + rows[index, lo + count // 2])


class TonicDriver:
    """Running clipped median of the driver on a decimated grid, interpolated back.

    Grid value ``j`` is the mean driver over samples ``j * step .. (j + 1) * step - 1``, placed
    at their centre (``step`` = ``fs`` / :data:`TONIC_GRID_HZ`, rounded down, at least 1); the
    tonic driver there is the clipped median of the grid values ``j - half .. j + half`` (``2
    half + 1`` grid values span about ``window_s``; edge values repeated at the ends of the
    data). Sample ``n`` is final once the grid point after it is known: a look-ahead of at most
    ``(half + 1) * step`` samples.

    Parameters
    ----------
    fs : float
        Sampling rate of the driver, Hz.
    window_s : float
        Width of the centred window, seconds.
    """

    def __init__(self, fs: float, window_s: float) -> None:
        self.step = step = max(1, int(fs // TONIC_GRID_HZ))
        self.half = half = max(1, int(round(window_s * fs / step / 2)))
        self._n = 0                 # driver samples received
        self._done = 0              # driver samples released
        self._d = np.empty(0)       # driver samples not released yet
        self._block = np.empty(0)   # driver samples of the grid block being filled
        self._g = np.empty(0)       # grid values still needed by some window (left-padded)
        self._g0 = -half            # grid index of _g[0]
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
            if self._g.size == 0 and self._next == 0:
                grid = np.concatenate([np.full(self.half, grid[0]), grid])
            self._g = np.concatenate([self._g, grid])
        if final and self._g.size:
            self._g = np.concatenate([self._g, np.full(self.half, self._g[-1])])
        last = self._g0 + self._g.size - 1 - self.half        # last grid index computable now
        if last >= self._next:
            win = windows(self._g[self._next - self.half - self._g0:], 2 * self.half + 1)
            values = clipped_median(win)
            idx = np.arange(self._next, last + 1)
            if self._anchor is not None:
                idx = np.concatenate([[self._anchor[0]], idx])
                values = np.concatenate([[self._anchor[1]], values])
            self._anchor = (int(idx[-1]), float(values[-1]))
            self._next = last + 1
            keep = self._next - self.half - self._g0
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
