"""Online PPG pulse (systolic peak) detection, causal and chunk-size invariant.

The detector follows Elgendi et al. (2013, PLoS ONE 8:e76585, "two event-related moving
averages"): band-pass 0.5-8 Hz, keep the positive part and square it, then mark "blocks of
interest" where the 111 ms moving average of that energy exceeds the 667 ms moving average plus
an offset of 0.02 x the mean energy; every block at least 111 ms long holds one systolic peak.
To be causal, both moving averages trail (they end at the current sample) instead of being
centred, the mean energy is taken over the last 10 s, and a block is cut after about 0.39 s,
which bounds the look-ahead to 0.5 s. The peak is then located on the PPG itself,
smoothed by a 40 ms linear-phase Hann kernel (no delay; nulls 50 Hz mains), between 0.1 s
before the block start and 0.05 s before its end. Peaks closer than 0.3 s to the previous one are
dropped (as in NeuroKit2's implementation).

The PPG must have its systolic peaks pointing up (light absorbance, as in
``neurokit2.ppg_simulate``).
"""
from __future__ import annotations

import numpy as np
from scipy import signal as sps

from .beats import BeatProcessor, detect_all
from .filters import HoldLast, LinearFilter, MovingSum, SignalBuffer, hann_taps, smooth_rows

__all__ = ["PulseDetector", "PulseProcessor", "ppg_peaks"]


class PulseDetector:
    """Causal PPG systolic-peak detector (Elgendi et al. 2013, adapted; see module).

    Feed consecutive samples with :meth:`update`; each call returns the pulse peaks that became
    certain, as absolute sample indices (0 = first sample ever fed). :meth:`flush` returns the
    rest at the end of the data. Output does not depend on how the signal is cut into chunks.

    Parameters
    ----------
    fs : float
        Sampling rate in Hz (at least 20 Hz; 25-1000 Hz typical).
    peak_window : float
        Short moving average, seconds (Elgendi: 111 ms); also the minimum block length.
    beat_window : float
        Long moving average, seconds (Elgendi: 667 ms).
    offset : float
        Threshold offset as a fraction of the mean energy (Elgendi's beta: 0.02).
    mean_window : float
        Seconds over which the mean energy is taken (10 s).
    min_interval : float
        Minimum time between peaks, seconds (0.3 s).

    Attributes
    ----------
    lookahead : float
        Longest delay in seconds between a peak and the end of the data that reveals it
        (<= 0.5 s).
    """

    #: Longest delay (s) between a peak and the data that reveals it; blocks are cut to keep it.
    MAX_LOOKAHEAD = 0.5

    def __init__(self, fs: float, *, peak_window: float = 0.111, beat_window: float = 0.667,
                 offset: float = 0.02, mean_window: float = 10.0,
                 min_interval: float = 0.3) -> None:
        if not fs >= 20:
            raise ValueError(f"sampling rate must be >= 20 Hz, got {fs!r}")
        self.fs = float(fs)
        self._fill = HoldLast()
        self._bandpass = LinearFilter(*sps.butter(2, [0.5, 8.0], "bandpass", fs=fs))
        self._peak = MovingSum(max(1, round(peak_window * fs)))
        self._beat = MovingSum(max(1, round(beat_window * fs)))
        self._mean = MovingSum(max(1, round(mean_window * fs)))
        self._offset = offset
        self._taps = hann_taps(fs, 0.040)
        self._lead = round(0.1 * fs)                    # search starts this before the block
        self._trim = round(0.05 * fs)                   # and ends this before its end
        self._max_block = int(self.MAX_LOOKAHEAD * fs) - self._lead - 1
        self._min_gap = round(min_interval * fs)
        self.lookahead = (self._max_block + self._lead + 1) / fs
        self._raw = SignalBuffer()
        self._n = 0
        self._inside = False            # is the newest sample inside a block?
        self._open: int | None = None   # start of the current block, unless already cut
        self._last: int | None = None   # previous peak

    def update(self, x: np.ndarray) -> np.ndarray:
        """Consume the next samples (any unit, peaks up); return newly certain peak indices.

        Non-finite samples (dropouts) are replaced by the last finite one.
        """
        x = self._fill(np.asarray(x, dtype=np.float64).reshape(-1))
        if not len(x):
            return np.empty(0, dtype=np.int64)
        s = np.maximum(self._bandpass(x), 0.0)
        y = s * s
        count = np.minimum(np.arange(self._n + 1, self._n + len(x) + 1), self._mean.n)
        thr = self._beat(y) / self._beat.n + self._offset * self._mean(y) / count
        inside = self._peak(y) / self._peak.n > thr
        self._raw.append(x)
        flips = np.flatnonzero(np.diff(inside, prepend=self._inside)) + self._n
        self._n += len(x)
        return self._blocks(flips.tolist())

    def flush(self) -> np.ndarray:
        """End of data: close a block still open (the data end cuts it)."""
        return self._blocks([self._n] if self._inside else [])

    @property
    def pending_from(self) -> int:
        """Smallest sample index a peak not yet reported can have."""
        start = self._n if self._open is None else self._open
        return max(0, start - self._lead - len(self._taps))

    def _blocks(self, flips: list[int]) -> np.ndarray:
        """Walk the block starts and ends (they alternate); a block is cut at the cap length."""
        out: list[int] = []
        for i in flips:
            self._inside = not self._inside
            if self._inside:
                self._open = i
            elif self._open is not None:
                self._peak_in(self._open, min(i, self._open + self._max_block), out)
                self._open = None
        if self._open is not None and self._n - self._open >= self._max_block:
            self._peak_in(self._open, self._open + self._max_block, out)
            self._open = None
        self._raw.discard_before(self.pending_from)
        return np.asarray(out, dtype=np.int64)

    def _peak_in(self, start: int, end: int, out: list[int]) -> None:
        """Locate the systolic peak of block ``[start, end)`` and append it if valid."""
        if end - start < self._peak.n:
            return
        lo, hi = start - self._lead, end - self._trim
        m = len(self._taps)
        idx = np.clip(np.arange(lo - m // 2, hi + m - m // 2), 0, self._n - 1)
        smooth = smooth_rows(self._raw.data[idx - self._raw.start][None, :], self._taps)[0]
        peak = int(np.clip(lo + int(np.argmax(smooth)), 0, self._n - 1))
        if self._last is None or peak - self._last >= self._min_gap:
            out.append(peak)
            self._last = peak


def ppg_peaks(ppg: np.ndarray, fs: float, **kwargs) -> np.ndarray:
    """Systolic peak sample indices of a whole PPG record.

    Runs :class:`PulseDetector` over the array, so the result is exactly what the online
    detector reports live.

    Parameters
    ----------
    ppg : array_like, shape (n,)
        PPG, systolic peaks up (any unit).
    fs : float
        Sampling rate, Hz.
    **kwargs
        Passed to :class:`PulseDetector`.

    Returns
    -------
    ndarray of int
        Sample indices of the pulse peaks, increasing.
    """
    return detect_all(PulseDetector(fs, **kwargs), ppg)


class PulseProcessor(BeatProcessor):
    """Processor: PPG stream ``X`` (kind ``"ppg"``) -> systolic peaks ``X.peaks`` (kind
    ``"pulse"``, in the PPG's unit) and peak-to-peak intervals ``X.rr`` (ms); see
    :class:`~biofeed.physio.beats.BeatProcessor`.

    Takes the input stream ``info`` (regular), the ``channel`` to analyse (default 0) and
    keyword arguments of :class:`PulseDetector`.
    """

    detector_type = PulseDetector
    input_kind, peak_kind, peak_suffix = "ppg", "pulse", "peaks"
