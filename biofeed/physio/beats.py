"""Beat detectors in general: the interface, a whole record at once, and the engine processor.

A beat detector (:class:`~biofeed.physio.ecg.RPeakDetector`,
:class:`~biofeed.physio.ppg.PulseDetector`) takes consecutive samples of one signal and returns
the beats that became certain, as absolute sample indices, whatever the chunking.
:func:`detect_all` runs one over a whole record; :class:`BeatProcessor` turns one into an
engine processor emitting beat times and beat-to-beat intervals (and, given a
:class:`BeatQuality` rater, signal quality per segment).
"""
from __future__ import annotations

from collections import deque
from typing import Callable, Protocol

import numpy as np

from ..processor import Processor, check_input
from ..stream import Chunk, StreamInfo
from .filters import SignalBuffer

__all__ = ["BeatDetector", "BeatProcessor", "BeatQuality", "SampleTimes", "detect_all"]


class BeatDetector(Protocol):
    """What :func:`detect_all` and :class:`BeatProcessor` need of a beat detector."""

    def update(self, x: np.ndarray) -> np.ndarray:
        """Consume the next samples; return the newly certain beats (absolute sample indices)."""

    def flush(self) -> np.ndarray:
        """End of data: return the beats still held back."""

    @property
    def pending_from(self) -> int:
        """Smallest sample index a beat not yet reported can have."""


class BeatQuality(Protocol):
    """What :class:`BeatProcessor` needs of a signal-quality rater
    (:mod:`biofeed.physio.quality`): segments of the signal rated from its samples and beats."""

    #: Names of the values of one rated segment (the quality stream's channels).
    channels: tuple[str, ...]

    def update(self, x: np.ndarray, beats: np.ndarray,
               known: int) -> list[tuple[int, list[float], np.ndarray, np.ndarray]]:
        """Consume the samples given to the detector and the beats it reported (absolute
        sample indices); every beat below sample ``known`` has been reported. Returns the
        segments now rated: (absolute index just after the segment's last sample, values, the
        beats rated with it (each beat is rated in one segment), their correlations with the
        segment's average beat)."""

    @property
    def pending_from(self) -> int:
        """Smallest sample index a segment not yet rated can start at."""


class SampleTimes:
    """Session time of every sample of one regular stream, by absolute sample index.

    Times count samples from the start of each contiguous run, so they do not depend on where
    chunks were cut; a chunk more than half a sample off where the last one ended starts a
    new run (a gap).

    Parameters
    ----------
    rate : float
        Sampling rate, Hz.
    """

    def __init__(self, rate: float) -> None:
        self.rate = float(rate)
        self._starts: deque[tuple[int, float]] = deque()   # (first sample index, t0 s) per run
        self._arrays: tuple[np.ndarray, np.ndarray] | None = None   # the same, until it changes
        self.end = 0                                        # samples so far

    def append(self, t0: float, n: int) -> None:
        """The next ``n`` samples, the first at session time ``t0`` (s)."""
        if self._starts:
            start, s0 = self._starts[-1]
            expected = s0 + (self.end - start) / self.rate
        if not self._starts or abs(t0 - expected) > 0.5 / self.rate:
            self._starts.append((self.end, t0))
            self._arrays = None
        self.end += n

    def times(self, idx: np.ndarray) -> np.ndarray:
        """Session times (s) of the samples at absolute indices ``idx`` (not forgotten ones)."""
        if self._arrays is None:
            self._arrays = (np.array([s for s, _ in self._starts]),
                            np.array([t for _, t in self._starts]))
        starts, t0s = self._arrays
        j = np.searchsorted(starts, idx, side="right") - 1
        return t0s[j] + (idx - starts[j]) / self.rate

    def discard_before(self, index: int) -> None:
        """Forget the runs that end before sample ``index``."""
        while len(self._starts) > 1 and self._starts[1][0] <= index:
            self._starts.popleft()
            self._arrays = None


def detect_all(detector: BeatDetector, x: np.ndarray) -> np.ndarray:
    """Beat sample indices of a whole record, increasing: exactly what ``detector`` (fresh)
    reports live.

    Long records go through in pieces to bound memory; the detector's output does not depend
    on how the signal is cut.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    parts = [detector.update(x[i:i + _BLOCK]) for i in range(0, len(x), _BLOCK)]
    return np.concatenate(parts + [detector.flush()])


#: Samples per piece when :func:`detect_all` runs through a long record.
_BLOCK = 1 << 20


class BeatProcessor(Processor):
    """Processor wrapping a beat detector: stream ``X`` -> beats ``X.<peak_suffix>`` and
    beat-to-beat intervals ``X.rr``.

    A subclass names its detector and stream kinds in the class attributes below. The beat
    stream (kind :attr:`peak_kind`, in the input's unit) has one sample per beat, value = input
    value at the beat, timestamp = beat time in session seconds. ``X.rr`` (kind ``"rr"``, ms)
    holds the interval ending at each beat after the first, stamped at that beat. With a
    ``quality`` rater, ``X.quality`` (kind ``"quality"``, channels ``quality.channels``, whose
    names give their units; no stream unit) has one sample per rated segment, stamped at the
    segment's end, and ``X.<peak_suffix>.quality`` (kind ``"beat_quality"``, channel
    ``template_r``) one
    sample per rated beat, stamped at the beat: its correlation with the average beat of its
    segment (Orphanidou et al. 2015), -1 to 1, NaN where its window does not fit. A segment is
    rated once every beat in it is known, so neither depends on chunking.

    Parameters
    ----------
    info : StreamInfo
        The input stream (regular, of kind :attr:`input_kind`).
    channel : int
        Which channel of the input to analyse.
    quality : BeatQuality, optional
        Rates the signal from its samples and beats (:mod:`biofeed.physio.quality`).
    **kwargs
        Passed to the detector.
    """

    #: Beat detector class, called as ``detector_type(info.rate, **kwargs)``.
    detector_type: Callable[..., BeatDetector]
    #: Required kind of the input stream.
    input_kind: str
    #: Kind and name suffix of the beat stream.
    peak_kind: str
    peak_suffix: str

    def __init__(self, info: StreamInfo, channel: int = 0, *, quality: BeatQuality | None = None,
                 **kwargs) -> None:
        check_input(info, self.input_kind, channel)
        self.info = info
        self.detector = self.detector_type(info.rate, **kwargs)
        self.channel = channel
        self.inputs = (info.name,)
        device = type(self).__name__
        self.outputs = (
            StreamInfo(f"{info.name}.{self.peak_suffix}", self.peak_kind, info.unit, 0.0,
                       device=device, derived=True),
            StreamInfo(f"{info.name}.rr", "rr", "ms", 0.0, device=device, derived=True),
        )
        self.quality = quality
        if quality is not None:
            self.outputs += (StreamInfo(f"{info.name}.quality", "quality", "", 0.0,
                                        quality.channels, device=device, derived=True),
                             StreamInfo(f"{info.name}.{self.peak_suffix}.quality",
                                        "beat_quality", "", 0.0, ("template_r",),
                                        device=device, derived=True))
        self._raw = SignalBuffer()
        self._times = SampleTimes(info.rate)
        self._last_time: float | None = None

    def update(self, chunk: Chunk) -> list[Chunk]:
        """Consume a chunk of the input stream; return new beat and RR chunks (maybe none)."""
        if chunk.info.name != self.info.name:
            raise ValueError(f"{type(self).__name__} consumes {self.info.name!r}, "
                             f"got a chunk of {chunk.info.name!r}")
        if not len(chunk):
            return []
        x = chunk.values[:, self.channel]
        self._times.append(chunk.t0, len(x))
        self._raw.append(x)
        beats = self.detector.update(x)
        rated = self.quality.update(x, beats, self.detector.pending_from) if self.quality else []
        return self._emit(beats, rated)

    def flush(self) -> list[Chunk]:
        """End of data: beats still held back by the detector's look-ahead, and the segments
        they complete."""
        beats = self.detector.flush()
        rated = self.quality.update(np.empty(0), beats, self._raw.end) if self.quality else []
        return self._emit(beats, rated)

    def _emit(self, idx: np.ndarray, rated: list[tuple]) -> list[Chunk]:
        out: list[Chunk] = []
        if len(idx):
            times = self._times.times(idx)
            values = self._raw.data[idx - self._raw.start]
            peaks_info, rr_info = self.outputs[:2]
            out.append(Chunk(peaks_info, values, float(times[0]), timestamps=times))
            # each interval ends at a beat and starts at the one before (none for the first)
            if self._last_time is None:
                begins, ends = times[:-1], times[1:]
            else:
                begins, ends = np.concatenate(([self._last_time], times[:-1])), times
            if len(ends):
                out.append(Chunk(rr_info, 1000.0 * (ends - begins), float(ends[0]),
                                 timestamps=ends))
            self._last_time = float(times[-1])
        if rated:
            # stamped just after the segment's last sample
            ends = self._times.times(np.array([r[0] - 1 for r in rated])) + 1.0 / self.info.rate
            out.append(Chunk(self.outputs[2], np.array([r[1] for r in rated]), float(ends[0]),
                             timestamps=ends))
            beats = np.concatenate([r[2] for r in rated])
            if len(beats):
                at = self._times.times(beats)
                out.append(Chunk(self.outputs[3], np.concatenate([r[3] for r in rated]),
                                 float(at[0]), timestamps=at))
        keep = self.detector.pending_from
        self._raw.discard_before(keep)
        self._times.discard_before(min(keep, self.quality.pending_from) if self.quality else keep)
        return out
