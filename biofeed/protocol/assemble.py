"""A recorded session that runs a protocol: runner, devices, signal core and stop-rule watch.

In real time the session has no fixed length: it ends when the protocol's last phase is over
(pauses make it longer, skips and stop rules shorter), on ``Session.stop`` or Ctrl-C. A
simulated run faster than real time is capped at the planned length, so the simulated sensor
never produces data past it (at high speed the clock can run ahead of the signal core). When the signal core
computes the arousal index, an :class:`~biofeed.protocol.watch.ArousalWatch` per participant
feeds it to the runner's arousal stop rules. The runner learns the participants (device
labels) from the devices, for per-person ratings; a protocol written for two participants
needs two labelled participants.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from ..devices.base import Device
from ..devices.labels import belongs, participants
from ..pipeline import default_processors
from ..session import Session
from .runner import ProtocolRunner
from .schedule import Phase, Protocol
from .watch import ArousalWatch


def protocol_session(protocol: Protocol, devices_for: Callable[[ProtocolRunner], Sequence[Device]], *,
                     auto_ratings: Callable[[Phase], float] | None = None,
                     alert: Callable[[str], None] | None = None, **options) -> Session:
    """Assemble a :class:`~biofeed.session.Session` that runs ``protocol``.

    Parameters
    ----------
    protocol : Protocol
    devices_for : callable
        ``devices_for(runner) -> devices`` (the simulated sensor follows ``runner.state_at``).
    auto_ratings, alert :
        See :class:`~biofeed.protocol.runner.ProtocolRunner`.
    **options :
        ``out_dir``, ``participant``, ``speed``, ``sinks``, ``rr_correction`` (artifact
        correction level of the NN streams, recorded in the session; default automatic),
        ``duration`` (seconds; by default open-ended at speed 1, the planned length
        otherwise) of the Session.
    """
    holder: list[Session] = []
    runner = ProtocolRunner(protocol, auto_ratings=auto_ratings, alert=alert,
                            on_end=lambda reason: holder[0].stop(reason))
    devices = list(devices_for(runner))
    streams = [s for d in devices for s in d.streams]
    runner.participants = tuple(participants(streams))
    if protocol.participants == 2 and (len(runner.participants) != 2 or "" in runner.participants):
        raise ValueError(f"protocol {protocol.name!r} is for two participants: give two labelled "
                         "devices, e.g. --device a@simulated:seed=1 --device b@simulated:seed=2 "
                         f"(got participants {[p or '(unlabelled)' for p in runner.participants]})")
    procs = default_processors(streams, options.get("rr_correction", "automatic"))
    for o in (o for p in procs for o in p.outputs if o.kind == "arousal"):
        who = next((label for label in runner.participants if belongs(o.name, label,
                                                                       list(runner.participants))), "")
        procs.append(ArousalWatch(runner, o.name, who))
    speed = options.get("speed", 1.0)
    options.setdefault("duration", math.inf if speed == 1.0 else protocol.duration_s)
    session = Session(devices, runner, processors=procs, **options)
    holder.append(session)
    return session
