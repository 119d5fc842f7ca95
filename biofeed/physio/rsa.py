"""Live RSA amplitude: peak-to-trough heart rate per breath cycle (Grossman et al. 1990).

Breath cycles come from the respiration stream (onsets found by
:class:`~biofeed.physio.breath.BreathProcessor`) or, when there is none, from the breathing
pacer: the protocol's paced phases start a cycle every ``60 / pacer_rate_bpm`` s from their
onset (:class:`PacerCycles`). The amplitude of each cycle is
:func:`~biofeed.physio.coherence.rsa_amplitude` of the NN beats in it.

References
----------
Grossman, P., van Beek, J., & Wientjes, C. (1990). A comparison of three quantification
methods for estimation of respiratory sinus arrhythmia. Psychophysiology 27(6), 702-714.
Lehrer, P. M., Vaschillo, E., & Vaschillo, B. (2000). Resonant frequency biofeedback training
to increase cardiac variability. Appl Psychophysiol Biofeedback 25(3), 177-191.
"""
from __future__ import annotations

import bisect
import itertools
import math

import numpy as np

from ..processor import Processor
from ..stream import Chunk, Event, StreamInfo
from .coherence import rsa_amplitude

__all__ = ["OnsetCycles", "PacerCycles", "PacingProcessor", "RsaProcessor", "pacing_stream_info",
           "rsa_stream_info"]

#: Longest breath cycle, s (the slowest pacer, 1 breath/min); longer ones (a gap, an apnea, a
#: missed onset) are not breath cycles and give no RSA sample.
MAX_CYCLE_S = 60.0
#: NN beats this recent (s before the newest) are kept even when no cycle needs them yet: a
#: paced phase's event may come after the beats at its onset (a simulated session running
#: hundreds of times faster than real time delivers seconds of data per chunk).
LATE_EVENT_S = 30.0
#: Breath onsets kept by :class:`PacingProcessor` for a late paced phase's event, s.
PACING_KEEP_S = 600.0
#: NN chunks held before they are merged while no cycle closes (merging only saves memory).
_MERGE_CHUNKS = 64

_NO_CYCLES = np.empty((0, 2))


class OnsetCycles:
    """Breath cycles between consecutive onsets of a breath stream (kind ``"breath"``).

    :meth:`add` takes the onsets (s) and their ``breath_s`` channel; a cycle ends at every
    onset whose ``breath_s`` is finite (its previous onset belongs to the same run of the
    detector) and at most :data:`MAX_CYCLE_S` after the previous one.
    """

    def __init__(self) -> None:
        self._t = np.empty(0)          # onsets from the start of the first cycle not yet returned
        self._whole = np.empty(0, bool)

    def add(self, onsets_s: np.ndarray, breath_s: np.ndarray) -> None:
        """Append onsets (s, increasing) with their cycle lengths (s, NaN after a break)."""
        self._t = np.concatenate((self._t, onsets_s))
        self._whole = np.concatenate((self._whole, np.isfinite(breath_s)))

    def closed(self, until: float) -> np.ndarray:
        """Cycles ``(start, end)`` (s) with ``end <= until`` not returned before, shape (k, 2)."""
        k = int(np.searchsorted(self._t, until, side="right"))
        if k < 2:
            return _NO_CYCLES
        t, whole = self._t[:k], self._whole[1:k]
        self._t, self._whole = self._t[k - 1:], self._whole[k - 1:]
        return np.column_stack((t[:-1], t[1:]))[whole & (np.diff(t) <= MAX_CYCLE_S)]

    @property
    def pending_start(self) -> float:
        """Earliest start of a cycle not yet returned, s (-inf while no onset is known)."""
        return float(self._t[0]) if self._t.size else -math.inf

    @property
    def next_end(self) -> float:
        """End of the next cycle, s (inf while unknown)."""
        return float(self._t[1]) if self._t.size > 1 else math.inf


class PacerCycles:
    """Breath cycles of the pacer, from the protocol's ``phase`` and ``pause`` events.

    A phase event whose payload has ``pacer_rate_bpm`` starts a cycle at its onset and every
    ``60 / pacer_rate_bpm`` s of pacer time after it, as long as the pacer runs: the phase's
    planned duration (re-written events carry the actual duration and ``paused_s``, see
    :class:`~biofeed.protocol.runner.ProtocolRunner`) minus its pauses. A pause stops the pacer
    clock (the runner continues the breath cycle after it); the cycle it interrupts is dropped.
    A pause event of duration 0 is still running (the runner writes it again at resume), so no
    cycle after it exists yet.
    """

    def __init__(self) -> None:
        self._paced: dict[int, tuple[float, float, float]] = {}  # id -> onset, pacer s, period
        self._phase_onsets: dict[int, float] = {}               # every phase: id -> onset, s
        self._pauses: dict[int, tuple[float, float]] = {}       # id -> (start, end) s
        self._done = -math.inf                                  # end of the last cycle returned
        self._future: np.ndarray | None = _NO_CYCLES            # None: recompute from events

    def event(self, ev: Event) -> None:
        """Take a protocol event (other kinds than ``phase`` and ``pause`` are ignored)."""
        if ev.kind == "phase":
            self._phase_onsets[ev.id] = ev.onset
            rate = ev.payload.get("pacer_rate_bpm")
            if rate is None:
                self._paced.pop(ev.id, None)
            else:
                active = ev.duration - ev.payload.get("paused_s", 0.0)
                self._paced[ev.id] = (ev.onset, active, 60.0 / float(rate))
        elif ev.kind == "pause":
            end = ev.onset + ev.duration if ev.duration > 0 else math.inf
            self._pauses[ev.id] = (ev.onset, end)
        else:
            return
        self._future = None

    def closed(self, until: float) -> np.ndarray:
        """Cycles ``(start, end)`` (s) with ``end <= until`` not returned before, shape (k, 2)."""
        k = int(np.searchsorted(self._scheduled()[:, 1], until, side="right"))
        if k == 0:
            return _NO_CYCLES
        out, self._future = self._future[:k], self._future[k:]
        self._done = float(out[-1, 1])
        return out

    @property
    def pending_start(self) -> float:
        """Earliest start of a cycle not yet returned, s (inf when none is scheduled)."""
        future = self._scheduled()
        return float(future[0, 0]) if len(future) else math.inf

    @property
    def next_end(self) -> float:
        """End of the next cycle, s (inf when none is scheduled)."""
        future = self._scheduled()
        return float(future[0, 1]) if len(future) else math.inf

    def _scheduled(self) -> np.ndarray:
        if self._future is None:
            self._future = self._schedule()
        return self._future

    def _schedule(self) -> np.ndarray:
        """Every cycle ending after the last one returned, in time order."""
        phases = sorted((onset, id) for id, onset in self._phase_onsets.items())
        pauses: dict[int, list[tuple[float, float]]] = {}
        for pause in sorted(self._pauses.values()):     # each in the phase running at its start
            k = bisect.bisect_right(phases, (pause[0], math.inf)) - 1
            if k >= 0:
                pauses.setdefault(phases[k][1], []).append(pause)
        cycles = [c for _, id in phases if id in self._paced
                  for c in _phase_cycles(*self._paced[id], pauses.get(id, []))]
        future = np.array(cycles, dtype=np.float64).reshape(-1, 2)
        return future[(future[:, 1] > self._done)
                      & (future[:, 1] - future[:, 0] <= MAX_CYCLE_S)]


def _phase_cycles(onset: float, active: float, period: float,
                  pauses: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Cycles (start, end) s of one paced phase: the pacer runs ``active`` s from ``onset``,
    stopped during ``pauses`` ((start, end) s, in order); no cycle spans a pause."""
    cycles: list[tuple[float, float]] = []
    elapsed, at = 0.0, onset          # pacer seconds run; session time it resumes
    for p0, p1 in [*pauses, (math.inf, math.inf)]:
        run = min(p0 - at, active - elapsed)
        first = math.ceil(elapsed / period - 1e-9)
        last = math.floor((elapsed + run) / period + 1e-9)
        edges = [at + k * period - elapsed for k in range(first, last + 1)]
        cycles += itertools.pairwise(edges)
        elapsed, at = elapsed + run, p1
        if elapsed >= active or math.isinf(at):
            break
    return cycles


def rsa_stream_info(name: str = "rsa", breaths: str | None = None) -> StreamInfo:
    """The live RSA stream: channels ``("rsa_bpm", "breath_s")``; its ``device`` says where
    the breath cycles came from: ``RSA(breaths <stream>)`` or ``RSA(pacer)``."""
    return StreamInfo(name, "rsa", "bpm", 0.0, ("rsa_bpm", "breath_s"),
                      f"RSA(breaths {breaths})" if breaths else "RSA(pacer)", derived=True)


class RsaProcessor(Processor):
    """Live RSA amplitude, one sample per breath cycle.

    Inputs: NN stream ``source`` (kind ``"nn"`` from :class:`~biofeed.physio.rr.NNProcessor`;
    irregular, timestamp = beat time s, channels ``("nn_ms", "artifact")``) and either the breath
    stream ``breaths`` (kind ``"breath"``, from :class:`~biofeed.physio.breath.BreathProcessor`)
    or, when ``breaths`` is None, the protocol's paced phases (:class:`PacerCycles`, through
    :meth:`on_event`).

    Output: kind ``"rsa"``, unit bpm, irregular, one sample per breath cycle stamped at its end
    (s); channels ``rsa_bpm`` (:func:`~biofeed.physio.coherence.rsa_amplitude` of the NN beats
    with times in ``[start, end)``: highest minus lowest ``60000 / nn``, bpm; NaN with fewer
    than 2 beats) and ``breath_s`` (cycle length, s). Cycles longer than :data:`MAX_CYCLE_S`
    are skipped. A cycle is emitted once it is closed and an NN beat at or after its end is
    known, so values and times depend only on the input streams, not on chunking; latency is
    that of the NN stream (5 beats) or of the breath onsets, whichever is later.

    Pacer cycles follow the events known when their end is reached in the NN stream. Live,
    events come at their session time, ahead of the NN stream (5 beats behind), so this is
    what a replay with the final events gives. A paced phase's event may also come up to
    :data:`LATE_EVENT_S` after the beats at its onset (beats that recent are kept); a pause or
    skip that comes after the beats at the end of the cycle it cuts does not change that cycle.

    Parameters
    ----------
    source : str
        Name of the NN input stream.
    breaths : str, optional
        Name of the breath stream; None to take the cycles from the pacer.
    name : str
        Name of the output stream.
    """

    def __init__(self, source: str = "rr.nn", breaths: str | None = None,
                 name: str = "rsa") -> None:
        self.inputs = (source,) if breaths is None else (source, breaths)
        self.outputs = (rsa_stream_info(name, breaths),)
        self._breaths = breaths
        self._cycles: OnsetCycles | PacerCycles = (PacerCycles() if breaths is None
                                                   else OnsetCycles())
        self._t, self._nn = np.empty(0), np.empty(0)  # beats a cycle may still need: s, ms
        self._new: list[Chunk] = []             # NN chunks not merged into them yet
        self._known = -math.inf                 # time of the newest beat, s

    def update(self, chunk: Chunk) -> list[Chunk]:
        if not len(chunk):
            return []
        if chunk.info.name == self._breaths:
            self._cycles.add(chunk.timestamps, chunk.values[:, 0])
        else:
            self._new.append(chunk)
            self._known = float(chunk.timestamps[-1])
        return self._emit()

    def on_event(self, event: Event) -> list[Chunk]:
        if self._breaths is not None:
            return []
        self._cycles.event(event)
        return self._emit()

    def _emit(self) -> list[Chunk]:
        if self._known < self._cycles.next_end:
            if len(self._new) >= _MERGE_CHUNKS:
                self._merge()
            return []
        self._merge()
        cycles = self._cycles.closed(self._known)
        if not len(cycles):
            return []
        amp = rsa_amplitude(self._nn, self._t, cycles.ravel())[::2]
        values = np.column_stack((amp, cycles[:, 1] - cycles[:, 0]))
        return [Chunk(self.outputs[0], values, float(cycles[0, 1]), cycles[:, 1])]

    def _merge(self) -> None:
        """Append the new NN chunks to the beats; drop the beats no cycle can need any more."""
        t = np.concatenate([self._t, *(c.timestamps for c in self._new)])
        nn = np.concatenate([self._nn, *(c.values[:, 0] for c in self._new)])
        self._new = []
        keep = min(self._cycles.pending_start, self._known - LATE_EVENT_S)
        cut = int(np.searchsorted(t, keep))
        self._t, self._nn = t[cut:], nn[cut:]


def pacing_stream_info(name: str, breaths: str) -> StreamInfo:
    """The pacer-adherence stream: kind ``pacing``, one sample per pacer cycle onset, channels
    ``breath_phase_deg`` (breath phase at the pacer onset, 0 = a breath onset), ``mrl``
    (mean resultant length of those phases since the pacer started, 0-1), ``breath_rate_per_min``
    (the breath containing the onset) and ``pacer_rate_per_min``."""
    return StreamInfo(name, "pacing", "", 0.0, ("breath_phase_deg", "mrl",
                                                 "breath_rate_per_min", "pacer_rate_per_min"),
                      f"Pacing(breaths {breaths})", derived=True)


class PacingProcessor(Processor):
    """Pacer adherence: how closely breathing locks to the pacer.

    At every pacer cycle onset ``p`` (:class:`PacerCycles`, from the protocol's events) the
    breath phase is ``360 x (p - b_j) / (b_j+1 - b_j)`` degrees, ``b_j <= p < b_j+1`` the breath
    onsets around it (linear phase between onsets; Pikovsky, Rosenblum & Kurths 2001). The
    mean resultant length of those phases (``|mean(exp(i phase))|``; 1 = every pacer onset at
    the same point of the breath, about ``1 / sqrt(n)`` for breathing unrelated to the pacer)
    runs over the pacer onsets since the pacer started (a pause or a new phase starts over).
    A sample is given out once the breath onset after ``p`` is known; breaths with a cycle
    over :data:`MAX_CYCLE_S` give none. Breath onsets of the last :data:`PACING_KEEP_S` are
    kept for a paced phase's event that comes after them.

    Parameters
    ----------
    breaths : str
        The breath stream (kind ``breath``).
    name : str
        Output stream name.
    """

    def __init__(self, breaths: str, name: str | None = None) -> None:
        self.inputs = (breaths,)
        self.outputs = (pacing_stream_info(name or f"{breaths}.pacing", breaths),)
        self._pacer = PacerCycles()
        self._onsets = np.empty(0)
        self._vec = 0j
        self._n = 0
        self._last_end = math.nan

    def update(self, chunk: Chunk) -> list[Chunk]:
        if len(chunk):
            self._onsets = np.concatenate((self._onsets, chunk.timestamps))
        return self._emit()

    def on_event(self, event: Event) -> list[Chunk]:
        self._pacer.event(event)
        return self._emit()

    def _emit(self) -> list[Chunk]:
        if self._onsets.size < 2:
            return []
        # a pacer onset is ready when a breath onset after it is known: cycles whose start is
        # below the newest onset (the cycle's end does not matter)
        known = float(self._onsets[-1])
        rows, times = [], []
        while self._pacer.pending_start < known:
            cycles = self._pacer.closed(self._pacer.next_end)
            if not len(cycles):
                break
            for start, end in cycles:
                if start >= known:      # cannot happen once closed; kept for clarity
                    break
                if not math.isclose(start, self._last_end, abs_tol=1e-6):
                    self._vec, self._n = 0j, 0
                self._last_end = float(end)
                j = int(np.searchsorted(self._onsets, start, side="right")) - 1
                if j < 0 or j + 1 >= self._onsets.size:
                    continue
                b0, b1 = self._onsets[j], self._onsets[j + 1]
                if b1 - b0 > MAX_CYCLE_S:
                    continue
                phase = 2 * math.pi * (start - b0) / (b1 - b0)
                self._vec += complex(math.cos(phase), math.sin(phase))
                self._n += 1
                rows.append([math.degrees(phase), abs(self._vec) / self._n, 60.0 / (b1 - b0),
                             60.0 / (end - start)])
                times.append(float(start))
        # onsets a cycle may still need; a paced phase's event may come after the breaths at
        # its onset (a simulated session at hundreds of times real time delivers breaths
        # tens of seconds ahead of the protocol's events); onsets are few, keep 10 min
        oldest = min(self._pacer.pending_start, known - PACING_KEEP_S)
        keep = max(int(np.searchsorted(self._onsets, oldest)) - 2, 0)
        self._onsets = self._onsets[keep:]
        if not rows:
            return []
        return [Chunk(self.outputs[0], np.array(rows), times[0], np.array(times))]
