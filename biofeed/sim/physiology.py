"""A small latent model of a participant's autonomic state, advanced on a fixed 10 Hz grid.

The model answers "what would this person's heart, skin and lungs do now?" for the simulated
sensor. It is driven by the protocol state (:class:`biofeed.protocol.runner.ProtocolState`):

- arousal ``a`` (0 = rest, 1 = full stress response) rises with a time constant of
  ``arousal_rise_s`` in stressor phases and decays with ``arousal_decay_s`` otherwise;
- heart rate rises with arousal; respiratory sinus arrhythmia (RSA) falls with it (vagal
  withdrawal) and grows when breathing is slow, most at the resonance rate (Vaschillo et al.
  2002; Lehrer et al. 2000);
- breathing is spontaneous, or follows the pacer through a phase-locking loop;
- skin conductance level rises with arousal; non-specific SCRs come as a Poisson process whose
  rate rises with arousal, and each stressor prompt elicits an SCR 1-3 s after its onset
  (Boucsein 2012).

Everything is computed tick by tick from seeded random generators, so the same seed and the
same protocol give the same beats, breaths and SCRs whatever the size of the chunks read.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..protocol.runner import ProtocolState
from ..protocol.schedule import breath_volume

StateAt = Callable[[float], "ProtocolState | None"]


@dataclass(frozen=True)
class SimConfig:
    """Parameters of the simulated participant and sensor (units in the names)."""

    seed: int = 0
    ecg_rate_hz: float = 250.0
    eda_rate_hz: float = 32.0
    resp_rate_hz: float = 32.0
    hr_rest_bpm: float = 66.0
    hr_stress_bpm: float = 16.0          #: HR rise at full arousal
    rsa_ms: float = 24.0                 #: RSA amplitude (half peak-to-trough RR) at rest, 14/min
    resonance_bpm: float = 5.5           #: breathing rate of the largest RSA, breaths/min
    resonance_gain: float = 3.0          #: RSA factor at the resonance rate
    resonance_width_bpm: float = 1.2
    breath_bpm: float = 14.0             #: spontaneous breathing rate at rest
    scl_rest_us: float = 4.0
    scl_stress_us: float = 1.6           #: SCL rise at full arousal
    ns_scr_rest_per_min: float = 1.5
    ns_scr_stress_per_min: float = 7.0
    arousal_rise_s: float = 8.0
    arousal_decay_s: float = 30.0
    noise: float = 1.0                   #: scales every noise source (0 = clean)
    ectopic_per_min: float = 0.3         #: premature ventricular beats per minute
    artifact_per_min: float = 0.1        #: motion artifacts per minute (ECG and EDA)

    def __post_init__(self) -> None:
        for name in ("ecg_rate_hz", "eda_rate_hz", "resp_rate_hz", "hr_rest_bpm", "breath_bpm",
                     "scl_rest_us", "arousal_rise_s", "arousal_decay_s", "resonance_width_bpm"):
            if not getattr(self, name) > 0:
                raise ValueError(f"simulated sensor: {name} must be > 0, got {getattr(self, name)!r}")
        for name in ("noise", "ectopic_per_min", "artifact_per_min", "rsa_ms",
                     "ns_scr_rest_per_min", "ns_scr_stress_per_min"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"simulated sensor: {name} must be >= 0, got {getattr(self, name)!r}")


def rsa_gain(breath_bpm: float, cfg: SimConfig) -> float:
    """Relative RSA amplitude at a breathing rate (breaths/min).

    A resonance peak at ``cfg.resonance_bpm`` (baroreflex resonance; Vaschillo et al. 2002)
    times a first-order low-pass at 15 breaths/min (vagal transfer falls with faster breathing;
    Hirsch & Bishop 1981).
    """
    resonance = 1 + (cfg.resonance_gain - 1) * math.exp(
        -0.5 * ((breath_bpm - cfg.resonance_bpm) / cfg.resonance_width_bpm) ** 2)
    return resonance / math.sqrt(1 + (breath_bpm / 15.0) ** 2)


def arousal_step(a: float, stressor: bool, cfg: SimConfig, dt: float) -> float:
    """Arousal ``dt`` s later: a first-order approach to 1 in a stressor phase and to 0
    otherwise, with time constant ``cfg.arousal_rise_s`` rising and ``cfg.arousal_decay_s``
    falling (s)."""
    target = 1.0 if stressor else 0.0
    tau = cfg.arousal_rise_s if target > a else cfg.arousal_decay_s
    return a + (target - a) * (1 - math.exp(-dt / tau))


class _Grid:
    """Named float columns on the 10 Hz tick grid, trimmed from the front as data are consumed."""

    def __init__(self, names: tuple[str, ...], dt: float) -> None:
        self.dt = dt
        self.first = 0                  # tick index of row 0
        self.cols = {n: np.empty(1024) for n in names}
        self.size = 0

    def append(self, **values: float) -> None:
        if self.size == len(next(iter(self.cols.values()))):
            for n, a in self.cols.items():
                self.cols[n] = np.concatenate([a, np.empty_like(a)])
        for n, v in values.items():
            self.cols[n][self.size] = v
        self.size += 1

    def interp(self, name: str, t: np.ndarray) -> np.ndarray:
        times = (self.first + np.arange(self.size)) * self.dt
        return np.interp(t, times, self.cols[name][:self.size])

    def trim_before(self, t: float) -> None:
        drop = min(self.size - 2, int(t / self.dt) - self.first)
        if drop > 0:
            for n, a in self.cols.items():
                a[:self.size - drop] = a[drop:self.size]
            self.size -= drop
            self.first += drop


class Physiology:
    """The participant model; :meth:`advance` it, then query beats, SCRs and tick columns.

    Parameters
    ----------
    config : SimConfig
    state_at : callable
        Protocol state at a session time (seconds), or None outside any phase.
    drive : optional
        ``drive.step(state) -> arousal``, called once a tick in tick order, in place of
        :func:`arousal_step` (a dyad's coupled arousal, :mod:`biofeed.sim.dyad`).
    """

    DT = 0.1  #: tick, seconds

    def __init__(self, config: SimConfig, state_at: StateAt, drive=None) -> None:
        self.cfg = config
        self.state_at = state_at
        self.drive = drive
        seeds = np.random.SeedSequence(config.seed).spawn(4)
        self._rng_heart, self._rng_skin, self._rng_motion, self._rng_drift = map(np.random.default_rng, seeds)
        self.grid = _Grid(("breath", "inhale", "depth", "arousal", "scl"), self.DT)
        self.t = 0.0                     # session time up to which ticks exist
        self._tick = 0
        self._a = 0.0                    # arousal
        self._a_slow = 0.0               # arousal as seen by the tonic skin conductance
        self._breath = float(self._rng_drift.uniform(0, 1))   # breath cycles, unwrapped
        self._f_breath = config.breath_bpm / 60.0             # smoothed breathing rate, Hz
        self._hr_wander = 0.0
        self._scl_wander = 0.0
        self._scl_drift = 0.0
        self._mayer_phase = float(self._rng_drift.uniform(0, 2 * math.pi))
        self._last_phase_index: int | None = None
        # beats: R time s, RR ending there s, ectopic flag, R amplitude factor
        self.beats: list[tuple[float, float, bool, float]] = []
        self._next_r = float(self._rng_heart.uniform(0.2, 0.8))
        self._pending_rr: float | None = None                 # compensatory pause after an ectopic
        self._last_rr, self._last_ectopic = 60.0 / config.hr_rest_bpm, False
        self.scrs: list[tuple[float, float]] = []             # (onset s, amplitude uS)
        self.motion: list[tuple[float, float, float, np.ndarray, np.ndarray]] = []
        self.contact: list[tuple[float, float]] = []          # EDA electrode artifacts (t s, uS)

    # -- ticks ---------------------------------------------------------------------------------
    def advance(self, t_until: float) -> None:
        """Compute every tick up to session time ``t_until`` (seconds)."""
        while self.t < t_until:
            self._step(self._tick * self.DT)
            self._tick += 1
            self.t = self._tick * self.DT

    def _step(self, t: float) -> None:
        cfg, dt = self.cfg, self.DT
        state = self.state_at(t)
        phase = state.phase if state is not None else None
        # Arousal: first-order approach to the phase's target (or a dyad's drive).
        if self.drive is None:
            self._a = arousal_step(self._a, phase is not None and phase.stressor, cfg, dt)
        else:
            self._a = self.drive.step(state)
        self._a_slow += (self._a - self._a_slow) * (1 - math.exp(-dt / 15.0))
        # Breathing: spontaneous, or locked to the pacer.
        if phase is not None and phase.pacer is not None:
            pacer = phase.pacer
            target_cycles = state.elapsed / pacer.period_s
            err = (target_cycles - self._breath + 0.5) % 1.0 - 0.5
            rate = pacer.rate_bpm / 60.0 + 0.3 * err
            inhale = pacer.inhale_fraction
        else:
            rate = cfg.breath_bpm / 60.0 * (1 + 0.2 * self._a)
            inhale = 0.42
        self._breath += rate * dt
        self._f_breath += (rate - self._f_breath) * (1 - math.exp(-dt / 8.0))
        depth = math.sqrt(cfg.breath_bpm / 60.0 / self._f_breath)
        # Slow wandering of heart rate (Ornstein-Uhlenbeck) and of the skin conductance level
        # (an OU process smoothed over 20 s: the tonic level drifts, it does not jitter).
        self._hr_wander += -self._hr_wander * dt / 20.0 + 1.5 * math.sqrt(2 * dt / 20.0) * self._rng_drift.normal()
        self._scl_wander += -self._scl_wander * dt / 60.0 + 0.15 * math.sqrt(2 * dt / 60.0) * self._rng_drift.normal()
        self._scl_drift += (self._scl_wander - self._scl_drift) * (1 - math.exp(-dt / 20.0))
        scl = cfg.scl_rest_us + cfg.scl_stress_us * self._a_slow + self._scl_drift
        self.grid.append(breath=self._breath, inhale=inhale, depth=depth, arousal=self._a, scl=scl)
        self._skin_events(t, state)
        self._motion_events(t)
        self._heart(t)

    def _skin_events(self, t: float, state: ProtocolState | None) -> None:
        cfg, rng = self.cfg, self._rng_skin
        index = None if state is None else state.index
        if index != self._last_phase_index and state is not None and state.phase.kind == "prompt":
            amp = rng.lognormal(math.log(0.5 if state.phase.stressor else 0.2), 0.3)
            self.scrs.append((state.onset + rng.uniform(1.0, 3.0), float(amp)))
        self._last_phase_index = index
        rate = cfg.ns_scr_rest_per_min + (cfg.ns_scr_stress_per_min - cfg.ns_scr_rest_per_min) * self._a
        if rng.random() < rate * self.DT / 60.0:
            self.scrs.append((t + rng.uniform(0, self.DT), float(max(0.03, rng.lognormal(math.log(0.12), 0.5)))))

    def _motion_events(self, t: float) -> None:
        rng, p = self._rng_motion, self.cfg.artifact_per_min * self.DT / 60.0
        if rng.random() < p:
            self.motion.append((t, float(rng.uniform(0.5, 2.0)), float(rng.uniform(0.4, 1.0)),
                                rng.uniform(1.0, 10.0, 3), rng.uniform(0, 2 * math.pi, 3)))
        if rng.random() < p / 2:
            self.contact.append((t, -float(rng.uniform(0.2, 0.5))))

    def _heart(self, t: float) -> None:
        cfg, rng = self.cfg, self._rng_heart
        while self._next_r < t + self.DT:
            r = self._next_r
            breath = self.grid.interp("breath", np.array([r]))[0]
            inhale = self.grid.cols["inhale"][self.grid.size - 1]
            volume = breath_volume(breath, inhale)
            if self._pending_rr is not None:
                rr, ectopic, self._pending_rr = self._pending_rr, False, None
            else:
                hr = cfg.hr_rest_bpm + cfg.hr_stress_bpm * self._a + self._hr_wander
                f_bpm = self._f_breath * 60.0
                rsa = cfg.rsa_ms * (1 - 0.7 * self._a) * rsa_gain(f_bpm, cfg) / rsa_gain(cfg.breath_bpm, cfg)
                lag = min(0.25, max(-0.25, 0.04 * (f_bpm - cfg.resonance_bpm)))
                rr = (60000.0 / hr + rsa * (1 - 2 * breath_volume(breath - lag, inhale))
                      + 4.0 * math.sin(2 * math.pi * 0.1 * r + self._mayer_phase)
                      + 5.0 * cfg.noise * rng.normal()) / 1000.0
                ectopic = rng.random() < cfg.ectopic_per_min / hr
                if ectopic:
                    self._pending_rr = 2 * rr - 0.62 * rr
                    rr *= 0.62
            self.beats.append((r, self._last_rr, self._last_ectopic, 1.0 + 0.08 * (volume - 0.5)))
            self._next_r, self._last_rr, self._last_ectopic = r + rr, rr, ectopic

    # -- queries -------------------------------------------------------------------------------
    def beats_between(self, t_start: float, t_end: float) -> np.ndarray:
        """Beats with R times in [t_start, t_end) as rows (R time s, RR s, ectopic, R scale)."""
        rows = [b for b in self.beats if t_start <= b[0] < t_end]
        return np.array(rows, dtype=float).reshape(-1, 4)

    def forget_before(self, t: float) -> None:
        """Drop what no sample at or after session time ``t`` (s) can need any more."""
        keep = t - 90.0   # SCRs decay over tens of seconds
        self.beats = [b for b in self.beats if b[0] >= t - 3.0]
        self.scrs = [s for s in self.scrs if s[0] >= keep]
        self.motion = [m for m in self.motion if m[0] + m[1] >= t - 1.0]
        self.contact = [c for c in self.contact if c[0] >= t - 10.0]
        self.grid.trim_before(t - 5.0)
