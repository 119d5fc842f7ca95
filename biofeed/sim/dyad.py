"""A simulated dyad: a second participant whose arousal follows the first's, with a known lag.

Physiological synchrony of two people (linkage; Helm, Sbarra & Ferrer 2012; review: Palumbo et
al. 2017) is tested against truth by simulating it. Each simulated participant of a dyad gets
an :class:`ArousalDrive`: the arousal of :class:`~biofeed.sim.physiology.Physiology`, i.e. the
protocol's first-order response (:func:`~biofeed.sim.physiology.arousal_step`), plus
spontaneous fluctuations, an Ornstein-Uhlenbeck process of SD ``wander`` (arousal units, 1 =
a full stress response) and time constant :data:`WANDER_TAU_S`, drawn tick by tick from a
generator seeded by the participant's seed alone. A follower's arousal is

    a_follower(t) = (1 - strength) * a_own(t) + strength * a_leader(t - lag_s)

where ``a_own`` is its own drive and ``a_leader`` the leader's drive, which the follower
computes itself from the leader's seed and the protocol state (the same state both simulated
devices of a session are given): no state is shared between the two devices, and the output
of each still depends only on seeds and protocol, never on chunking. Before ``lag_s`` has
passed, the leader's first value stands in. Through arousal the follower's heart rate, RSA,
breathing rate, skin conductance level and SCR rate follow the leader's (Physiology's model).

Device options (``biofeed.devices.spec``): ``b@simulated:seed=2,follow=a,lag=3,strength=0.5``;
``wander=SD`` sets a participant's fluctuations (default :data:`DYAD_WANDER` for every
simulated participant of a session in which one follows another, 0 otherwise, which is the
plain model). ``strength=0`` is an uncoupled pair with the same dynamics (a null condition).
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import replace

import numpy as np

from ..protocol.runner import ProtocolState
from .physiology import Physiology, SimConfig, arousal_step

#: Time constant of the spontaneous arousal fluctuations, s.
WANDER_TAU_S = 5.0
#: SD of the spontaneous arousal fluctuations of a dyad's participants (arousal units).
DYAD_WANDER = 0.2
#: Longest follower lag, s.
MAX_LAG_S = 60.0
#: Device options of the coupling (next to ``seed``).
OPTIONS = ("follow", "lag", "strength", "wander")
#: Stream of the drive's generator: ``SeedSequence([seed, DRIVE_STREAM])``, apart from the
#: generators of :class:`Physiology` and the sensor noise.
DRIVE_STREAM = 2


class ArousalDrive:
    """One participant's arousal, tick by tick (:attr:`Physiology.DT` s): the protocol's
    response plus spontaneous fluctuations (module notes).

    Parameters
    ----------
    config : SimConfig
        The participant's seed and arousal time constants (s).
    wander : float
        SD of the fluctuations, arousal units (0: the protocol's response alone).
    """

    def __init__(self, config: SimConfig, wander: float) -> None:
        if not wander >= 0:
            raise ValueError(f"wander must be >= 0, got {wander!r}")
        self.cfg, self.wander = config, float(wander)
        self._rng = np.random.default_rng(np.random.SeedSequence([config.seed, DRIVE_STREAM]))
        self._response = 0.0
        self._w = self.wander * float(self._rng.standard_normal())   # from the stationary law
        dt = Physiology.DT
        self._keep = math.exp(-dt / WANDER_TAU_S)
        self._kick = self.wander * math.sqrt(1 - self._keep ** 2)

    def step(self, state: ProtocolState | None) -> float:
        """Arousal at the next tick, given the protocol state there."""
        stressor = state is not None and state.phase.stressor
        self._response = arousal_step(self._response, stressor, self.cfg, Physiology.DT)
        self._w = self._keep * self._w + self._kick * float(self._rng.standard_normal())
        return self._response + self._w

    def describe(self) -> dict:
        return {"wander": self.wander, "wander_tau_s": WANDER_TAU_S}


class FollowerDrive:
    """A follower's arousal: its own :class:`ArousalDrive` mixed with the leader's, ``lag_s``
    (rounded to ticks) earlier, with weight ``strength`` (module notes).

    Parameters
    ----------
    own, leader : ArousalDrive
        The follower's drive and a drive of the leader's seed and wander.
    leader_label : str
        The leader's device label (recorded).
    lag_s : float
        How much later the follower's arousal follows, s (0-:data:`MAX_LAG_S`).
    strength : float
        Weight of the leader's arousal, 0 (none) to 1 (a delayed copy).
    """

    def __init__(self, own: ArousalDrive, leader: ArousalDrive, leader_label: str, lag_s: float,
                 strength: float) -> None:
        check_coupling(lag_s, strength)
        self.own, self.leader, self.leader_label = own, leader, leader_label
        self.lag_s, self.strength = float(lag_s), float(strength)
        self._past: deque[float] = deque(maxlen=round(lag_s / Physiology.DT) + 1)

    def step(self, state: ProtocolState | None) -> float:
        own = self.own.step(state)
        self._past.append(self.leader.step(state))
        return (1 - self.strength) * own + self.strength * self._past[0]

    def describe(self) -> dict:
        return self.own.describe() | {
            "follows": self.leader_label, "lag_s": self.lag_s, "strength": self.strength,
            "leader": {"seed": self.leader.cfg.seed} | self.leader.describe()}


def check_coupling(lag_s: float, strength: float) -> None:
    """ValueError unless 0 <= ``lag_s`` <= :data:`MAX_LAG_S` s and 0 <= ``strength`` <= 1."""
    if not 0 <= lag_s <= MAX_LAG_S:
        raise ValueError(f"lag must be 0-{MAX_LAG_S:g} s, got {lag_s!r}")
    if not 0 <= strength <= 1:
        raise ValueError(f"strength must be 0-1, got {strength!r}")


def parse_options(opts: dict[str, str]) -> dict:
    """The coupling options of a simulated device spec (strings, from ``field=value`` pairs):
    ``follow`` (a label), ``lag`` (s), ``strength`` (0-1), ``wander`` (SD); ValueError naming
    the option. ``lag`` and ``strength`` need ``follow``."""
    out: dict = {}
    for key, lo, hi in (("lag", 0.0, MAX_LAG_S), ("strength", 0.0, 1.0), ("wander", 0.0, 1.0)):
        if key in opts:
            try:
                value = float(opts[key])
            except ValueError:
                value = math.nan
            if not lo <= value <= hi:
                raise ValueError(f"{key} must be a number {lo:g}-{hi:g}, got {opts[key]!r}")
            out[key] = value
    if "follow" in opts:
        out["follow"] = opts["follow"]
    elif "lag" in out or "strength" in out:
        raise ValueError("lag and strength need follow=LABEL (the participant followed)")
    return out


def resolve(specs: list) -> list:
    """Device specs of one session (:class:`~biofeed.devices.spec.DeviceSpec`) with each
    follower's options completed by its leader's seed and wander (``leader``), and the
    default wander (:data:`DYAD_WANDER`) of every simulated participant when one follows
    another. ValueError when a leader is missing, not simulated, the follower itself, or a
    follower too (chains are not simulated)."""
    followers = [s for s in specs if s.kind == "simulated" and "follow" in s.options]
    if not followers:
        return list(specs)
    out = []
    for spec in specs:
        opts = dict(spec.options)
        if spec.kind == "simulated":
            opts.setdefault("wander", DYAD_WANDER)
        out.append(replace(spec, options=opts))
    by_label = {s.label: s for s in out if s.label is not None}
    for i, spec in enumerate(out):
        if spec.kind != "simulated" or "follow" not in spec.options:
            continue
        name = spec.options["follow"]
        leader = by_label.get(name)
        if leader is None or leader.kind != "simulated":
            raise ValueError(f"device {spec.text!r}: follow={name}: no simulated device labelled "
                             f"{name!r} in this session (labelled: {sorted(by_label)})")
        if leader is spec:
            raise ValueError(f"device {spec.text!r}: a participant cannot follow itself")
        if "follow" in leader.options:
            raise ValueError(f"device {spec.text!r}: {name!r} follows another participant itself; "
                             "a follower can only follow a participant who follows no one")
        out[i] = replace(spec, options=spec.options | {
            "leader": {"seed": leader.options["seed"], "wander": leader.options["wander"]}})
    return out


def drive_for(options: dict) -> ArousalDrive | FollowerDrive | None:
    """The arousal drive a simulated device's (resolved) options ask for, or None (the plain
    model: no ``wander`` and no ``follow``)."""
    if "follow" not in options and not options.get("wander"):
        return None
    own = ArousalDrive(SimConfig(seed=options["seed"]), options.get("wander", 0.0))
    if "follow" not in options:
        return own
    leader = options["leader"]
    return FollowerDrive(own, ArousalDrive(SimConfig(seed=leader["seed"]), leader["wander"]),
                         options["follow"], options.get("lag", 0.0), options.get("strength", 0.5))
