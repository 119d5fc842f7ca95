"""Posture of a simulated chest sensor: its tilt, with posture changes at random times.

Leaning back, slouching or turning tilts a chest strap by tens of degrees within a few
seconds; an accelerometer sees it as a slow turn of gravity, much larger than the breathing
tilt. Changes come as a Poisson process (``per_min``); each moves pitch and roll to new
values (pitch uniform in +-0.5 rad around upright, roll +-0.3 rad) along a raised cosine of
1-3 s. Events are drawn in time order from a generator seeded by the participant's seed, so
the tilt at any time depends only on the seed, never on how the samples are chunked.
"""
from __future__ import annotations

import numpy as np

__all__ = ["Posture"]


class Posture:
    """Pitch and roll (rad) of the chest sensor over session time.

    Parameters
    ----------
    seed : int
        The participant's seed.
    per_min : float
        Posture changes per minute (0: the first posture throughout).
    """

    def __init__(self, seed: int, per_min: float = 0.2) -> None:
        if not per_min >= 0:
            raise ValueError(f"posture changes per minute must be >= 0, got {per_min!r}")
        self._rng = np.random.default_rng(np.random.SeedSequence([seed, 18]))
        self.per_min = float(per_min)
        # (start s, duration s, pitch rad, roll rad) reached at start + duration
        self.moves = [(-1.0, 0.0, float(self._rng.uniform(-0.3, 0.3)),
                       float(self._rng.uniform(-0.2, 0.2)))]
        self._next = self._gap(0.0)

    def _gap(self, t: float) -> float:
        return t + (float(self._rng.exponential(60.0 / self.per_min)) if self.per_min > 0
                    else np.inf)

    def tilt(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Pitch and roll (rad) at session times ``t`` (s, increasing)."""
        t = np.asarray(t, dtype=float)
        while len(t) and self._next <= t[-1]:
            self.moves.append((self._next, float(self._rng.uniform(1.0, 3.0)),
                               float(self._rng.uniform(-0.5, 0.5)),
                               float(self._rng.uniform(-0.3, 0.3))))
            self._next = self._gap(self._next)
        first = self.moves[0]
        pitch, roll = np.full(len(t), first[2]), np.full(len(t), first[3])
        for (_, _, p0, r0), (start, dur, p1, r1) in zip(self.moves, self.moves[1:]):
            w = 0.5 - 0.5 * np.cos(np.pi * np.clip((t - start) / dur, 0.0, 1.0))
            after = t >= start
            pitch = np.where(after, p0 + (p1 - p0) * w, pitch)
            roll = np.where(after, r0 + (r1 - r0) * w, roll)
        return pitch, roll

    def forget_before(self, t: float) -> None:
        """Drop the moves finished before ``t`` (s) except the latest (the posture then)."""
        done = [i for i, m in enumerate(self.moves) if m[0] + m[1] < t]
        if done:
            self.moves = self.moves[done[-1]:]
