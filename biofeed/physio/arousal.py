"""Arousal index: a composite of HR, SCL, SCR rate and RMSSD as z-scores against a baseline.

Definition (documented choice; composites of cardiac and electrodermal reactivity follow the
rest-reactivity-recovery logic of Laborde et al. 2017, with EDA weighted equally because
attachment prompts move skin conductance more than the heart; Roisman et al. 2004)::

    arousal(T) = mean( z(HR), z(SCL), z(SCR rate), -z(RMSSD) )
    z(x) = (x(T) - baseline mean of x) / max(baseline SD of x, SD floor of x)

- ``HR`` (bpm) is 60000 / mean NN over the 10 s before ``T`` (fast enough to follow a prompt);
- ``RMSSD`` (ms) is the HRV stream's value at ``T`` (its 60 s window);
- ``SCL`` (uS) is the mean skin conductance level over the second before ``T``;
- ``SCR rate`` (per minute) counts SCR onsets in the 60 s ending ``scr_delay_s`` before ``T``:
  SCRs are reported only once their recovery is measured, so the window lags by that delay
  to count every SCR it holds, whatever the chunking;
- the baseline is the session's first ``baseline`` phase: means and SDs of the per-second
  inputs inside it, used from the end of that phase on. Before then, or in sessions without a
  baseline phase, the population norms of :data:`NORMS` stand in;
- an SD is floored at half the normative SD, so a very steady baseline (an SCR count that
  does not change for a minute) does not blow the index up.

Positive values mean more aroused than baseline (in baseline SDs). One sample per whole second
of session time, emitted once every input has reached that second; output depends only on the
input streams and the events, not on chunk boundaries.
"""
from __future__ import annotations

import math

import numpy as np

from ..processor import Processor
from ..stream import Chunk, Event, StreamInfo
from .hrv import HRV_KEYS

#: Normative (mean, SD) of each input: HR from mean RR 926 +/- 90 ms and RMSSD 42 +/- 15 ms
#: (Nunan et al. 2010); SCL 5 +/- 3 uS and non-specific SCR rate 2 +/- 1.5 per minute at rest
#: (Boucsein 2012, ranges for palmar recordings at rest).
NORMS = {"hr_bpm": (64.8, 6.3), "scl_us": (5.0, 3.0), "scr_per_min": (2.0, 1.5),
         "rmssd_ms": (42.0, 15.0)}
#: Sign of each input in the composite.
SIGNS = {"hr_bpm": 1.0, "scl_us": 1.0, "scr_per_min": 1.0, "rmssd_ms": -1.0}
CHANNELS = ("arousal", "z_hr", "z_scl", "z_scr_rate", "z_rmssd")


class ArousalProcessor(Processor):
    """Live arousal index from an HRV stream, an SCL stream and an SCR stream.

    Parameters
    ----------
    nn, hrv, scl, scr : str
        Names of the NN (kind ``"nn"``, ms, timestamps = beat times), HRV (kind ``"hrv"``,
        channels :data:`~biofeed.physio.hrv.HRV_KEYS`), SCL (kind ``"scl"``, uS, regular) and
        SCR (kind ``"scr"``, timestamps = onsets, s) input streams.
    scr_delay_s : float
        Upper bound of the EDA processor's reporting delay, seconds (see module notes).
    name : str
        Output stream name (kind ``"arousal"``, channels :data:`CHANNELS`, baseline SDs).
    """

    #: Window of the HR input, seconds.
    HR_WINDOW_S = 10.0

    def __init__(self, nn: str, hrv: str, scl: str, scr: str, scr_delay_s: float = 20.0,
                 name: str = "arousal") -> None:
        self.inputs = (nn, hrv, scl, scr)
        self._nn, self._hrv, self._scl, self._scr = nn, hrv, scl, scr
        self._nn_t = np.empty(0)
        self._nn_v = np.empty(0)
        self.outputs = (StreamInfo(name, "arousal", "SD", 0.0, CHANNELS, "biofeed", True),)
        self._delay = float(scr_delay_s)
        self._rmssd_col = HRV_KEYS.index("rmssd")
        self._rmssd: dict[float, float] = {}                    # T -> RMSSD ms
        self._scl_t = np.empty(0)
        self._scl_v = np.empty(0)
        self._scl_end = -math.inf
        self._scr_onsets: list[float] = []
        self._next_t: float | None = None
        self._baseline: tuple[float, float] | None = None       # (start, end) s
        self._baseline_rows: list[tuple[float, float, float, float]] = []
        self._stats: dict[str, tuple[float, float]] | None = None

    def on_event(self, event: Event) -> list[Chunk]:
        if (self._baseline is None and event.kind == "phase"
                and event.payload.get("phase_kind") == "baseline"):
            self._baseline = (event.onset, event.onset + event.duration)
        return []

    def update(self, chunk: Chunk) -> list[Chunk]:
        name = chunk.info.name
        if name == self._nn:
            self._nn_t = np.concatenate([self._nn_t, chunk.times])
            self._nn_v = np.concatenate([self._nn_v, chunk.values[:, 0]])
        elif name == self._hrv:
            for t, row in zip(chunk.times, chunk.values):
                self._rmssd[float(t)] = float(row[self._rmssd_col])
                if self._next_t is None:
                    self._next_t = float(t)
        elif name == self._scl:
            self._scl_t = np.concatenate([self._scl_t, chunk.times])
            self._scl_v = np.concatenate([self._scl_v, chunk.values[:, 0]])
            self._scl_end = chunk.t_end
        elif name == self._scr:
            self._scr_onsets.extend(chunk.times.tolist())
        return self._emit()

    def _emit(self) -> list[Chunk]:
        times, rows = [], []
        while (self._next_t is not None and self._next_t in self._rmssd
               and self._scl_end > self._next_t and len(self._nn_t) and self._nn_t[-1] >= self._next_t):
            t = self._next_t
            rmssd = self._rmssd.pop(t)
            # beat and sample times increase: windows (t - w, t] are slices
            a, b = np.searchsorted(self._nn_t, (t - self.HR_WINDOW_S, t), side="right")
            hr = 60000.0 / (float(np.add.reduce(self._nn_v[a:b])) / (b - a)) if b > a else math.nan
            a, b = np.searchsorted(self._scl_t, (t - 1.0, t), side="right")
            scl = float(np.add.reduce(self._scl_v[a:b])) / (b - a) if b > a else math.nan
            lo, hi = t - self._delay - 60.0, t - self._delay
            scr_rate = float(sum(lo < o <= hi for o in self._scr_onsets)) if t >= 60.0 + self._delay else math.nan
            values = {"hr_bpm": hr, "scl_us": scl, "scr_per_min": scr_rate, "rmssd_ms": rmssd}
            self._track_baseline(t, values)
            times.append(t)
            rows.append(self._index(values))
            self._next_t = t + 1.0
            self._forget(t)
        if not times:
            return []
        return [Chunk(self.outputs[0], np.array(rows), times[0], np.array(times))]

    def _track_baseline(self, t: float, values: dict[str, float]) -> None:
        if self._baseline is None or self._stats is not None:
            return
        start, end = self._baseline
        if start <= t < end:
            self._baseline_rows.append(tuple(values[k] for k in NORMS))
        elif t >= end:
            data = np.array(self._baseline_rows, dtype=float).reshape(-1, len(NORMS))
            self._stats = {}
            for i, key in enumerate(NORMS):
                col = data[:, i][np.isfinite(data[:, i])]
                norm_mean, norm_sd = NORMS[key]
                self._stats[key] = ((float(col.mean()), max(float(col.std()), norm_sd / 2))
                                    if col.size >= 2 else (norm_mean, norm_sd))

    def _index(self, values: dict[str, float]) -> list[float]:
        stats = self._stats or NORMS
        z = [SIGNS[k] * (values[k] - stats[k][0]) / stats[k][1] for k in NORMS]
        finite = [v for v in z if math.isfinite(v)]
        return [sum(finite) / len(finite) if finite else math.nan, *z]

    def _forget(self, t: float) -> None:
        cut = int(np.searchsorted(self._scl_t, t - 1.0, side="right"))
        self._scl_t, self._scl_v = self._scl_t[cut:], self._scl_v[cut:]
        cut = int(np.searchsorted(self._nn_t, t - self.HR_WINDOW_S, side="right"))
        self._nn_t, self._nn_v = self._nn_t[cut:], self._nn_v[cut:]
        cutoff = t - self._delay - 60.0
        self._scr_onsets = [o for o in self._scr_onsets if o > cutoff]
