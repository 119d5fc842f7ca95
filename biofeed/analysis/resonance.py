"""Resonance-frequency assessment: the six selection criteria per paced rate and the chosen rate.

Each paced phase of the assessment (phase kind ``assessment`` with a pacer) is analysed from the
recorded session: the NN stream of the signal core (artifact-corrected beats) and the
respiration: the belt when recorded, else the derived respiration of the pipeline (chest
accelerometer, ECG- or PPG-derived; :func:`breathing_signal`, named in the table's
``attrs["breathing_source"]``). The first :data:`SETTLE_S` seconds of each rate are skipped
while breathing locks onto the pacer. Criteria (Lehrer, Vaschillo & Vaschillo 2000; Lehrer
2013; Shaffer & Meehan 2020):

1. ``phase_deg``: HR-respiration phase at the breathing frequency, degrees (positive = HR
   lags the breath), from the cross-spectrum of evenly resampled (4 Hz) HR and respiration;
   best near 0. The instantaneous HR ``60000 / NN`` is placed at the beat that starts each
   interval, where the vagal modulation that sets the interval acts. NaN without respiration.
2. ``peak_trough_bpm``: mean peak-to-trough HR per breath cycle (cycles from the pacer
   schedule; :func:`biofeed.physio.coherence.rsa_amplitude`, each interval at the beat that
   ends it, as in the live RSA stream); highest best.
3. ``lf_ms2``: LF power (0.04-0.15 Hz) of the NN series, ms^2 (4 Hz cubic spline, Hann
   periodogram, linear detrend; Task Force 1996); highest best.
4. ``lf_peak_ms2_hz``: height of the highest LF spectral peak, ms^2/Hz; highest best.
5. ``smoothness``: share of the HR variance explained by one sinusoid at the pacing frequency
   (0..1, a smooth sine-like HR curve scores near 1); highest best.
6. ``lf_peaks``: number of LF spectral peaks above :data:`PEAK_SHARE` of the highest; fewest best.

Choice (documented rule; the sources weigh the criteria by judgement): every criterion is
ranked across rates (1 = best, ties share the mean rank), the ranks are summed and the lowest
sum wins; a tie goes to the higher LF power. When the chosen rate is the fastest or slowest one
tested, ``extend`` says which way to extend the range (domain notes: extend past the ends).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..physio.coherence import rsa_amplitude
from ..physio.hrv import BANDS
from ..physio.spectrum import cubic_spline, psd
from ..record.reader import Recording, Signal
from .replay import derived_signals

#: Seconds at the start of each rate left out while breathing settles on the pacer.
SETTLE_S = 10.0
#: Resampling rate of HR and respiration, Hz.
FS = 4.0
#: A spectral peak counts for criterion 6 when it reaches this share of the highest LF peak.
PEAK_SHARE = 0.1
#: Criteria and whether higher values are better (phase: closer to 0 is better).
CRITERIA = {"phase_deg": None, "peak_trough_bpm": True, "lf_ms2": True, "lf_peak_ms2_hz": True,
            "smoothness": True, "lf_peaks": False}


@dataclass(frozen=True)
class ResonanceResult:
    """Criteria per rate (``table``), the chosen rate (breaths/min) and where to extend."""

    table: pd.DataFrame
    rate_bpm: float
    extend: str | None      #: "faster", "slower" or None


def _first(signals: dict[str, Signal], kind: str) -> Signal | None:
    return next((s for s in signals.values() if s.info.kind == kind), None)


def _column(sig: Signal) -> np.ndarray:
    return sig.values if sig.values.ndim == 1 else sig.values[:, 0]


def breathing_signal(rec: Recording, signals: dict[str, Signal] | None = None) -> Signal | None:
    """The respiration the criteria use: the belt (a raw ``resp`` stream) when recorded, else
    the derived respiration the pipeline chose (chest accelerometer > ECG-derived >
    PPG-derived, :func:`biofeed.pipeline.breathing_processors`), else None. Its
    ``info.name`` and ``info.device`` say which source it is."""
    raw = [s for n, s in rec.signals.items() if s.info.kind == "resp" and not s.info.derived]
    if raw:
        return raw[0]
    signals = derived_signals(rec) if signals is None else signals
    derived = [s for s in signals.values() if s.info.kind == "resp"]
    rank = {"ACC": 0, "EDR": 1, "PDR": 2}
    derived.sort(key=lambda s: rank.get(s.info.device.split("(")[0], 3))
    return derived[0] if derived else None


def rate_criteria(nn_ms: np.ndarray, beat_s: np.ndarray, rate_bpm: float, start: float, end: float,
                  resp_t: np.ndarray | None = None, resp: np.ndarray | None = None) -> dict:
    """The six criteria for one paced rate (breaths/min) over ``[start, end)`` (s).

    ``nn_ms`` are NN intervals (ms) ending at beat times ``beat_s`` (s); ``resp`` is the
    respiration signal at times ``resp_t`` (s), or None. Breath cycles start at ``start`` and
    every ``60 / rate_bpm`` s after (the pacer schedule).
    """
    out = dict.fromkeys(CRITERIA, math.nan)
    f0 = rate_bpm / 60.0
    onset_s = beat_s - nn_ms / 1000.0                 # beat that starts each interval
    keep = (onset_s >= start) & (onset_s < end)
    if keep.sum() < 8:
        return out
    t, nn = onset_s[keep], nn_ms[keep]
    grid = t[0] + np.arange(int((t[-1] - t[0]) * FS) + 1) / FS
    hr = cubic_spline(t, 60000.0 / nn, grid)
    nn_even = cubic_spline(t, nn, grid)
    n = grid.size
    f, p = psd(nn_even, FS, n, 1 << math.ceil(math.log2(4 * n)))
    df = f[1] - f[0]
    band = (f >= BANDS["lf"][0]) & (f < BANDS["lf"][1])
    lf = p[band]
    out["lf_ms2"] = float(lf.sum() * df)
    out["lf_peak_ms2_hz"] = float(lf.max())
    inner = (lf[1:-1] > lf[:-2]) & (lf[1:-1] >= lf[2:]) & (lf[1:-1] >= PEAK_SHARE * lf.max())
    out["lf_peaks"] = int(inner.sum())
    basis = np.exp(-2j * np.pi * f0 * grid) * np.hanning(n)
    x = hr - hr.mean()
    h = np.sum(x * basis)
    fit = np.column_stack([np.cos(2 * np.pi * f0 * grid), np.sin(2 * np.pi * f0 * grid), np.ones(n)])
    coef, *_ = np.linalg.lstsq(fit, hr, rcond=None)
    out["smoothness"] = float(1.0 - np.var(hr - fit @ coef) / np.var(hr)) if np.var(hr) > 0 else math.nan
    cycles = np.arange(start, end + 1e-9, 60.0 / rate_bpm)
    out["peak_trough_bpm"] = float(np.nanmean(rsa_amplitude(nn_ms, beat_s, cycles)))
    if resp is not None and resp_t is not None:
        r = np.interp(grid, resp_t, resp)
        ref = np.sum((r - r.mean()) * basis)
        out["phase_deg"] = float(np.degrees(np.angle(ref * np.conj(h))))
    return out


def resonance(rec: Recording) -> ResonanceResult:
    """The criteria per paced rate of a recorded assessment, and the chosen rate.

    Raises ValueError when the recording has no paced ``assessment`` phases or no NN stream.
    """
    signals = derived_signals(rec)
    nn = _first(signals, "nn")
    resp = breathing_signal(rec, signals)
    phases = rec.events[(rec.events.kind == "phase")]
    paced = [ev for ev in phases.itertuples()
             if ev.payload.get("phase_kind") == "assessment" and "pacer_rate_bpm" in ev.payload]
    if nn is None or not paced:
        raise ValueError(f"{rec.path}: no paced assessment phases with heart beats to analyse")
    nn_ms, beat_s = _column(nn), nn.times
    rows = []
    for ev in paced:
        rate = float(ev.payload["pacer_rate_bpm"])
        crit = rate_criteria(nn_ms, beat_s, rate, ev.onset + SETTLE_S, ev.onset + ev.duration,
                             None if resp is None else resp.times,
                             None if resp is None else _column(resp))
        rows.append({"phase": ev.label, "rate_bpm": rate, **crit})
    table = pd.DataFrame(rows)
    table.attrs["breathing_source"] = None if resp is None else resp.info.name
    ranks = []
    for name, higher in CRITERIA.items():
        col = table[name]
        if col.notna().sum() < 2:
            continue
        key = -col.abs() if higher is None else (col if higher else -col)
        ranks.append(key.rank(ascending=False, method="average"))
    table["rank_sum"] = sum(ranks)
    best = table.sort_values(["rank_sum", "lf_ms2"], ascending=[True, False]).iloc[0]
    rate = float(best.rate_bpm)
    extend = ("faster" if rate == table.rate_bpm.max() else
              "slower" if rate == table.rate_bpm.min() else None)
    return ResonanceResult(table, rate, extend)
