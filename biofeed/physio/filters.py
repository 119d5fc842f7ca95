"""Stateful, chunk-size invariant building blocks for online signal processing.

Each class here carries its state from one chunk to the next so that feeding a signal in one
piece or in many gives bit-identical output: ``lfilter`` / ``sosfilt`` with their filter state,
and running sums from one carried sequential cumulative sum (``np.cumsum`` adds strictly left
to right, so the rounding does not depend on where chunks start).
"""
from __future__ import annotations

import functools

import numpy as np
from scipy import signal as sps


class LinearFilter:
    """Causal linear filter with carried state: transfer function ``b/a`` or second-order sections.

    ``LinearFilter(b, a)`` runs ``scipy.signal.lfilter``; ``LinearFilter(sos=sos)`` runs a
    cascade of second-order sections, one ``lfilter`` call a section (the recurrence of
    ``scipy.signal.sosfilt``, without its per-call argument checks, which cost more than the
    filtering itself on 10-100 sample chunks). The state is initialised to
    the steady state for the first input sample, so a DC offset does not produce a start-up
    transient. ``lfilter`` has several times less per-call overhead, which matters for
    10-100 ms chunks; keep ``b/a`` designs at order <= 4 so the transfer-function form stays
    well conditioned, and give higher orders as sections.

    Parameters
    ----------
    b, a : array_like
        Numerator and denominator coefficients, e.g. from ``scipy.signal.butter``.
    sos : array_like, shape (n_sections, 6), keyword only
        Second-order sections instead of ``b`` and ``a``, e.g. ``butter(..., output="sos")``.
    """

    def __init__(self, b: np.ndarray | None = None, a: np.ndarray = (1.0,), *,
                 sos: np.ndarray | None = None) -> None:
        if (b is None) == (sos is None):
            raise ValueError("give either the coefficients b (and a) or sos")
        if sos is not None:
            sos = np.asarray(sos, dtype=np.float64)
            if len(sos) == 1:       # one section is its own transfer function
                b, a, sos = sos[0, :3], sos[0, 3:], None
        if sos is None:
            b, a = np.asarray(b, dtype=np.float64), np.asarray(a, dtype=np.float64)
            self._filter = functools.partial(sps.lfilter, b, a)
            self._steady = sps.lfilter_zi(b, a)
        else:
            self._filter = functools.partial(_cascade, sos)
            self._steady = sps.sosfilt_zi(sos)
        self._zi: np.ndarray | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Filter the next samples; returns as many samples as given."""
        if len(x) == 0:
            return np.empty(0)
        if self._zi is None:
            self._zi = self._steady * x[0]
        y, self._zi = self._filter(x, zi=self._zi)
        return y


def _cascade(sos: np.ndarray, x: np.ndarray, zi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Second-order sections in series, each with its own carried state (rows of ``zi``)."""
    zf = np.empty_like(zi)
    for k, section in enumerate(sos):
        x, zf[k] = sps.lfilter(section[:3], section[3:], x, zi=zi[k])
    return x, zf


class MovingSum:
    """Sum of the last ``n`` samples (samples before the start count as 0).

    Computed as the difference of one carried cumulative sum, so the cost per sample does not
    depend on ``n`` and the output is bit-identical for any chunking. The relative error is
    about 1e-16 x (sum since the start) / (window sum): ~1e-11 for a day of ECG energy.

    Parameters
    ----------
    n : int
        Window length in samples (>= 1).
    """

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError(f"window must be >= 1 sample, got {n}")
        self.n = int(n)
        self._tail = np.zeros(self.n)   # cumulative sums at the last n samples

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Moving sums ending at each of the next samples."""
        if len(x) == 0:
            return np.empty(0)
        n = self.n
        full = np.concatenate((self._tail, x))   # the last n cumulative sums, then the samples
        new = full[n - 1:]
        np.add.accumulate(new, out=new)           # in place: the new cumulative sums
        self._tail = full[-n:]
        return full[n:] - full[:-n]


class HoldLast:
    """Replace NaN/inf samples by the last finite one (0 before any), so that a dropout does
    not poison the state of the filters downstream."""

    def __init__(self) -> None:
        self._last = 0.0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """The next samples with gaps filled (the input itself when it has none)."""
        if not np.isfinite(np.add.reduce(x)):      # a NaN/inf sample (or an overflowing sum)
            finite = np.isfinite(x)
            pos = np.maximum.accumulate(np.where(finite, np.arange(len(x)), -1))
            x = np.where(pos >= 0, x[np.maximum(pos, 0)], self._last)
        if len(x):
            self._last = float(x[-1])
        return x


class SignalBuffer:
    """The recent past of one or more aligned signals, addressed by absolute sample index.

    Samples are rows of :attr:`data` (shape ``(n,)`` or ``(n, k)``); :attr:`start` is the
    absolute index of row 0. Storage grows geometrically and is reused, so appending a chunk
    copies only the chunk.

    Parameters
    ----------
    columns : int
        0 for a 1-D signal, otherwise the number of aligned signals stored side by side.
    """

    def __init__(self, columns: int = 0) -> None:
        self._shape = (columns,) if columns else ()
        self._store = np.empty((1024,) + self._shape)
        self._lo = self._hi = 0       # the live rows of the store
        self.start = 0

    @property
    def data(self) -> np.ndarray:
        """The buffered samples (a view; do not keep it across appends)."""
        return self._store[self._lo:self._hi]

    @property
    def end(self) -> int:
        """Absolute index just after the newest sample."""
        return self.start + self._hi - self._lo

    def extend(self, n: int) -> np.ndarray:
        """Make room for the next ``n`` samples; returns their (writable) rows."""
        live = self._hi - self._lo
        if self._hi + n > len(self._store):
            store = self._store
            if 2 * (live + n) > len(store):
                store = np.empty((2 * (live + n),) + self._shape)
            store[:live] = self._store[self._lo:self._hi]
            self._store, self._lo, self._hi = store, 0, live
        self._hi += n
        return self._store[self._hi - n:self._hi]

    def append(self, x: np.ndarray) -> None:
        """Add the next samples (rows)."""
        self.extend(len(x))[:] = x

    def discard_before(self, index: int) -> None:
        """Forget samples with absolute index < ``index``."""
        drop = min(max(index - self.start, 0), self._hi - self._lo)
        self._lo += drop
        self.start += drop

    def window(self, lo: int, hi: int, fill: float = 0.0) -> np.ndarray:
        """Rows with absolute index in ``[lo, hi)``; indices outside the buffer read ``fill``."""
        a, b = max(lo, self.start), min(hi, self.end)
        if a == lo and b == hi:
            return self.data[a - self.start:b - self.start]
        out = np.full((hi - lo,) + self._shape, fill)
        if b > a:
            out[a - lo:b - lo] = self.data[a - self.start:b - self.start]
        return out


def windows(x: np.ndarray, width: int) -> np.ndarray:
    """Read-only view of every run of ``width`` consecutive samples along the last axis of ``x``.

    Shape ``x.shape[:-1] + (x.shape[-1] - width + 1, width)``; window ``j`` starts at sample
    ``j``. The same view as ``numpy.lib.stride_tricks.sliding_window_view(x, width, axis=-1)``,
    built directly (that function's checks cost more than the work on live-sized inputs).
    """
    x = np.ascontiguousarray(x)
    count = x.shape[-1] - width + 1
    if width < 1 or count < 0:
        raise ValueError(f"window of {width} samples does not fit {x.shape[-1]} samples")
    step = x.strides[-1]
    view = np.ndarray(x.shape[:-1] + (count, width), x.dtype, x, 0, x.strides + (step,))
    view.flags.writeable = False
    return view


def smooth_rows(rows: np.ndarray, taps: np.ndarray) -> np.ndarray:
    """Filter each row of ``rows`` (shape (k, w)) with the FIR ``taps`` (odd length m).

    Returns the ``w - m + 1`` outputs per row that see only that row's samples; for a
    symmetric kernel, output ``j`` is centred on input ``j + (m - 1) // 2``. One matrix-vector
    product over the windows of every row.
    """
    return windows(rows, len(taps)) @ taps[::-1]


def hann_taps(fs: float, width: float) -> np.ndarray:
    """Unit-gain Hann smoothing kernel about ``width`` seconds wide (odd length >= 3).

    Symmetric, so filtering with it (e.g. by :func:`smooth_rows`) delays by exactly half its
    length and does not shift peaks.
    """
    m = max(3, 2 * round(width * fs / 2) + 1)
    taps = np.hanning(m + 2)[1:-1]
    return taps / taps.sum()
