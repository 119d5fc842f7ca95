"""The built-in simulated sensor (device name ``simulated``): ECG, EDA, respiration belt,
chest accelerometer and (optionally) PPG.

Signals come from :class:`biofeed.sim.physiology.Physiology`, which reacts to the protocol
state, so a demo session shows a stress response and the effect of paced breathing without
any hardware. Sample ``i`` of a stream lies at exactly ``i / rate`` session seconds, and the
values depend only on the seed and the protocol, never on how the samples are chunked.
"""
from __future__ import annotations

import math
from dataclasses import asdict
from typing import AsyncIterator

import numpy as np

from ..clock import SessionClock
from ..protocol.schedule import breath_volume
from ..sim.physiology import Physiology, SimConfig, StateAt
from ..sim.posture import Posture
from ..sim.waveforms import BEAT_SPAN_S, PULSE_SPAN_S, chest_acc, ecg_beats, ppg_pulses, scr_shape
from ..stream import Chunk, StreamInfo
from .base import Device


class SimulatedSensor(Device):
    """Simulated chest ECG (mV), palm EDA (uS), respiration belt (a.u.; left out with
    ``belt=False``), chest accelerometer (``acc``, mG, x/y/z, as a Polar H10 strap; unless
    ``acc_rate_hz=0``) and finger PPG (a.u.; when ``ppg_rate_hz`` > 0).

    The accelerometer sees gravity at the chest's tilt (:func:`~biofeed.sim.waveforms.chest_acc`):
    the posture (:class:`~biofeed.sim.posture.Posture`, with posture changes), plus
    ``breath_tilt_deg`` x breath depth x lung volume (pitch, and a third of it as roll), a
    small cardiac vibration at each beat (seismocardiogram), the motion artifacts the ECG
    gets, and 2 mG of noise. The PPG's pulses follow the ECG beats 0.25 s later; lung volume
    lowers the pulse amplitude (10 %) and the baseline, and the pulse rate carries the RSA.

    Parameters
    ----------
    config : SimConfig
        Rates, seed, physiology and noise settings.
    state_at : callable, optional
        Protocol state at a session time (seconds); rest throughout when omitted.
    drive : optional
        The arousal drive of a dyad's participant (:func:`biofeed.sim.dyad.drive_for`),
        recorded under ``dyad`` in :meth:`describe`.
    chunk_s : float
        Session seconds between chunks at real-time speed.
    belt : bool
        Record the respiration belt stream ``resp``.
    acc_rate_hz : float
        Rate of the chest accelerometer ``acc`` (Polar H10: 25-200 Hz); 0 for none.
    ppg_rate_hz : float
        Rate of the finger PPG ``ppg``; 0 (default) for none.
    breath_tilt_deg : float
        Chest tilt from empty to full lungs at resting breath depth, degrees.
    posture_per_min : float
        Posture changes per minute (:class:`~biofeed.sim.posture.Posture`).
    """

    def __init__(self, config: SimConfig = SimConfig(), state_at: StateAt | None = None,
                 chunk_s: float = 0.1, drive=None, *, belt: bool = True, acc_rate_hz: float = 50.0,
                 ppg_rate_hz: float = 0.0, breath_tilt_deg: float = 0.5,
                 posture_per_min: float = 0.2) -> None:
        self.id = "simulated"
        self.config = config
        self.physiology = Physiology(config, state_at or (lambda t: None), drive)
        self.chunk_s = chunk_s
        self.ecg = StreamInfo("ecg", "ecg", "mV", config.ecg_rate_hz, ("ECG",), self.id)
        self.eda = StreamInfo("eda", "eda", "uS", config.eda_rate_hz, ("EDA",), self.id)
        self.resp = StreamInfo("resp", "resp", "a.u.", config.resp_rate_hz, ("RESP",), self.id)
        for name, rate in (("acc_rate_hz", acc_rate_hz), ("ppg_rate_hz", ppg_rate_hz)):
            if not rate >= 0:
                raise ValueError(f"simulated sensor: {name} must be >= 0, got {rate!r}")
        self.breath_tilt_rad = math.radians(breath_tilt_deg)
        self.posture = Posture(config.seed, posture_per_min)
        self.acc = StreamInfo("acc", "acc", "mG", acc_rate_hz or 50.0, ("x", "y", "z"), self.id)
        self.ppg = StreamInfo("ppg", "ppg", "a.u.", ppg_rate_hz or 64.0, ("PPG",), self.id)
        streams = [(self.ecg, self._ecg), (self.eda, self._eda)]
        streams += [(self.resp, self._resp)] if belt else []
        streams += [(self.acc, self._acc)] if acc_rate_hz > 0 else []
        streams += [(self.ppg, self._ppg)] if ppg_rate_hz > 0 else []
        self._render = streams
        self.streams = tuple(info for info, _ in streams)
        # one noise generator per stream kind, the same whichever streams are on
        kinds = (self.ecg, self.eda, self.resp, self.acc, self.ppg)
        seeds = np.random.SeedSequence([config.seed, 1]).spawn(len(kinds))
        self._noise = {s.name: np.random.default_rng(q) for s, q in zip(kinds, seeds)}
        self._sent = dict.fromkeys((s.name for s in self.streams), 0)
        self._mains_phase = float(np.random.default_rng(config.seed).uniform(0, 2 * math.pi))

    def describe(self) -> dict:
        drive = self.physiology.drive
        return super().describe() | {"config": asdict(self.config)} | (
            {} if drive is None else {"dyad": drive.describe()})

    async def chunks(self, clock: SessionClock, until: float | None) -> AsyncIterator[Chunk]:
        # At high speed, fewer and larger chunks keep the loop light; values do not change.
        period = self.chunk_s * max(1.0, clock.speed / 10.0)
        t_next = period
        while True:
            await clock.sleep_until(t_next if until is None else min(t_next, until))
            now = clock.now() if until is None else min(clock.now(), until)
            for chunk in self.read_until(now):
                yield chunk
            if until is not None and now >= until:
                return
            t_next = max(t_next + period, now)

    def read_until(self, t: float) -> list[Chunk]:
        """Every sample not yet read with a session time below ``t`` (seconds), one chunk a stream."""
        self.physiology.advance(t + 2.5)
        out = []
        for info, render in self._render:
            i0, i1 = self._sent[info.name], math.ceil(t * info.rate - 1e-9)
            if i1 > i0:
                times = np.arange(i0, i1) / info.rate
                out.append(Chunk(info, render(times), t0=i0 / info.rate))
                self._sent[info.name] = i1
        oldest = min(s / i.rate for s, i in zip(self._sent.values(), self.streams))
        self.physiology.forget_before(oldest)
        self.posture.forget_before(oldest)
        return out

    # -- signal rendering ----------------------------------------------------------------------
    def _breath(self, t: np.ndarray) -> np.ndarray:
        """Lung volume 0..1 at times ``t`` (s)."""
        g = self.physiology.grid
        return breath_volume(g.interp("breath", t), g.interp("inhale", t))

    def _ecg(self, t: np.ndarray) -> np.ndarray:
        ph, k = self.physiology, self.config.noise
        beats = ph.beats_between(t[0] - BEAT_SPAN_S[1] - 1e-9, t[-1] - BEAT_SPAN_S[0] + 1e-9)
        ecg = ecg_beats(t, beats[:, 0], beats[:, 1], beats[:, 2].astype(bool), beats[:, 3])
        ecg += 0.08 * (self._breath(t) - 0.5)                                  # baseline wander
        ecg += k * 0.01 * np.sin(2 * np.pi * 50.0 * t + self._mains_phase)      # mains
        ecg += k * 0.015 * self._noise["ecg"].standard_normal(len(t))          # muscle / electrode
        for t0, dur, amp, freqs, phases in ph.motion:                          # motion artifacts
            inside = (t >= t0) & (t < t0 + dur)
            if inside.any():
                u = (t[inside] - t0) / dur
                wave = np.sin(2 * np.pi * freqs[:, None] * t[inside] + phases[:, None]).sum(axis=0)
                ecg[inside] += k * amp * np.sin(np.pi * u) ** 2 * wave / 1.5
        return ecg

    def _eda(self, t: np.ndarray) -> np.ndarray:
        ph, k = self.physiology, self.config.noise
        eda = ph.grid.interp("scl", t)
        for onset, amp in ph.scrs:
            if onset < t[-1]:
                eda += amp * scr_shape(t - onset)
        for t0, amp in ph.contact:                                              # electrode contact
            eda += k * amp * np.where(t >= t0, np.exp(-np.maximum(t - t0, 0) / 0.8), 0.0)
        eda += k * 0.003 * self._noise["eda"].standard_normal(len(t))
        return np.maximum(eda, 0.0)

    def _resp(self, t: np.ndarray) -> np.ndarray:
        depth = self.physiology.grid.interp("depth", t)
        return depth * (self._breath(t) - 0.5) + self.config.noise * 0.02 * self._noise["resp"].standard_normal(len(t))

    def _acc(self, t: np.ndarray) -> np.ndarray:
        ph, k = self.physiology, self.config.noise
        depth = ph.grid.interp("depth", t)
        tilt = self.breath_tilt_rad * depth * (self._breath(t) - 0.5)
        pitch, roll = self.posture.tilt(t)
        acc = 1000.0 * chest_acc(pitch + tilt, roll + tilt / 3.0)
        beats = ph.beats_between(t[0] - 0.3, t[-1] + 1e-9)
        for r in beats[:, 0]:                                   # seismocardiogram
            near = slice(np.searchsorted(t, r, "right"), np.searchsorted(t, r + 0.3, "left"))
            dt = t[near] - r - 0.08                             # samples r < t < r + 0.3 s
            acc[near, 0] += 8.0 * np.exp(-0.5 * (dt / 0.02) ** 2) * np.cos(2 * np.pi * 25 * dt)
        for t0, dur, amp, freqs, phases in ph.motion:           # movement
            inside = (t >= t0) & (t < t0 + dur)
            if inside.any():
                u = (t[inside] - t0) / dur
                env = k * 150.0 * amp * np.sin(np.pi * u) ** 2
                for axis in range(3):
                    acc[inside, axis] += env * np.sin(2 * np.pi * freqs[axis] / 4 * t[inside]
                                                      + phases[axis] + axis)
        return acc + k * 2.0 * self._noise["acc"].standard_normal((len(t), 3))

    def _ppg(self, t: np.ndarray) -> np.ndarray:
        ph, k = self.physiology, self.config.noise
        beats = ph.beats_between(t[0] - PULSE_SPAN_S[1], t[-1] + 1e-9)
        r = beats[:, 0]
        volume = self._breath(r) - 0.5 if len(r) else r
        gain = 1.0 - 0.1 * ph.grid.interp("depth", r) * volume if len(r) else r
        ppg = ppg_pulses(t, r, np.sqrt(np.clip(beats[:, 1], 0.25, 2.0)), gain)
        ppg -= 0.15 * ph.grid.interp("depth", t) * (self._breath(t) - 0.5)   # intensity
        return ppg + k * 0.01 * self._noise["ppg"].standard_normal(len(t))
