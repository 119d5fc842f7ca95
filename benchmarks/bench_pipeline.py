"""Speed and latency of the whole live pipeline (every default processor) on one core.

Data: the simulated sensor (``biofeed.sim``, seed 3, the built-in ``DEMO`` protocol repeated)
at ECG 1000 Hz, EDA 100 Hz and respiration 32 Hz, pre-generated into arrays so the feed costs
nothing. The chunks are handed to :meth:`biofeed.engine.Engine.publish` in 100 ms pieces,
exactly what a live device's pump does, with the processors of
:func:`biofeed.pipeline.default_processors` (R-peaks, RR, NN, HRV, coherence, breath onsets,
RSA, EDA/SCL/SCR, arousal) and no sinks; the protocol's phase events go through
:meth:`~biofeed.engine.Engine.emit_event` at their onsets.

Printed:

b. throughput in multiples of real time by wall clock and by CPU time
   (``time.process_time``), median of ``--repeat`` plain runs, pinned to one core;
   then, from one more run with a timer around every processor call and every chunk (the
   timers themselves cost about 0.1 s per 10 min, so that run is not used for b), the CPU
   seconds of each processor;
c. per-chunk latency: from handing a chunk to ``publish`` until every derived chunk it
   triggers has been published (``publish`` is synchronous, so that is its return),
   p50 / p99 / max over all chunks of that timed run, by wall clock and by CPU time (the
   wall figure includes preemption by other processes on a shared machine).

Processors of raw streams are fed in batches (:data:`biofeed.pipeline._BATCH_S`), exactly as
in a live session.

Then the same for a dyad: two labelled simulated participants (``a``, seed 3, and ``b``, seed 4,
whose arousal follows a's by 3 s with strength 0.5; :mod:`biofeed.sim.dyad`), so every
processor runs twice and the live synchrony of their HR and SCL
(:class:`~biofeed.physio.synchrony.SynchronyProcessor`) runs too.

Run: ``python benchmarks/bench_pipeline.py [--minutes 10] [--repeat 5]``
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np

from biofeed.devices.labels import LabelledDevice
from biofeed.devices.simulated import SimulatedSensor
from biofeed.engine import Engine
from biofeed.pipeline import default_processors
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import DEMO
from biofeed.sim.dyad import DYAD_WANDER, drive_for
from biofeed.sim.physiology import SimConfig
from biofeed.stream import Chunk


def generate(minutes: float, chunk_s: float, seed: int = 3):
    """Feed of the simulated sensor, cut into ``chunk_s`` pieces per stream, in time order.

    Returns the sensor (for its streams) and the list of (session time, chunk), ordered by the
    time at which a live device would deliver them (the chunk's end).
    """
    runner = ProtocolRunner(DEMO)
    period = runner.duration_s
    sensor = SimulatedSensor(SimConfig(seed=seed, ecg_rate_hz=1000.0, eda_rate_hz=100.0),
                             lambda t: runner.state_at(t % period))
    return sensor, runner, _feed([(sensor, {s.name: s for s in sensor.streams})], minutes, chunk_s)


def generate_dyad(minutes: float, chunk_s: float):
    """The same for two labelled participants, ``a`` (seed 3) and ``b`` (seed 4) following a
    by 3 s with strength 0.5; returns the (labelled) devices, the runner and the feed."""
    runner = ProtocolRunner(DEMO)
    period = runner.duration_s
    leader = {"seed": 3, "wander": DYAD_WANDER}
    options = {"a": leader, "b": {"seed": 4, "wander": DYAD_WANDER, "follow": "a", "lag": 3.0,
                                  "strength": 0.5, "leader": leader}}
    sensors, devices = [], []
    for label, opts in options.items():
        sensor = SimulatedSensor(SimConfig(seed=opts["seed"], ecg_rate_hz=1000.0, eda_rate_hz=100.0),
                                 lambda t: runner.state_at(t % period), drive=drive_for(opts))
        labelled = LabelledDevice(sensor, label)
        sensors.append((sensor, dict(zip((s.name for s in sensor.streams), labelled.streams))))
        devices.append(labelled)
    return devices, runner, _feed(sensors, minutes, chunk_s)


def _feed(sensors, minutes: float, chunk_s: float) -> list:
    """(arrival time, chunk) of each sensor's streams, renamed by its ``{name: StreamInfo}``."""
    total = minutes * 60.0
    feed = []
    for sensor, named in sensors:
        raw = {s.name: [] for s in sensor.streams}
        t, step = 0.0, 10.0
        while t < total:
            t = min(t + step, total)
            for c in sensor.read_until(t):
                raw[c.info.name].append(c.values)
        for name, info in named.items():
            x = np.concatenate(raw[name])
            n = round(chunk_s * info.rate)
            for i in range(0, x.shape[0], n):
                feed.append(((i + n) / info.rate, Chunk(info, x[i:i + n], i / info.rate)))
    feed.sort(key=lambda item: item[0])
    return feed


def run_once(devices, runner, feed, total_s: float, timed: bool = False) -> dict:
    """One run of the default processors of the ``devices``' streams (fed from ``feed``, the
    devices are not read): wall and CPU seconds; with ``timed``, also the per-chunk wall and
    CPU latency (s), the CPU seconds per processor and the number of derived samples."""
    engine = Engine(list(devices), default_processors([s for d in devices for s in d.streams]),
                    sinks=[], runner=runner)
    cpu_by = {}
    derived = [0]
    for p in engine.processors if timed else ():  # time each processor's own update
        key = f"{type(p).__name__} -> {p.outputs[0].name}"
        cpu_by[key] = 0.0

        def timed_update(chunk, _update=p.update, _key=key):
            c0 = time.process_time()
            out = _update(chunk)
            cpu_by[_key] += time.process_time() - c0
            derived[0] += sum(len(c) for c in out)
            return out
        p.update = timed_update
    events = _phase_events(runner, total_s)
    lat, lat_cpu = np.empty(len(feed)), np.empty(len(feed))
    wall, cpu = time.perf_counter(), time.process_time()
    e = 0
    for i, (t_arrive, chunk) in enumerate(feed):
        while e < len(events) and events[e][0] <= t_arrive:
            engine.emit_event(*events[e])
            e += 1
        if timed:
            t0, c0 = time.perf_counter(), time.process_time()
            engine.publish(chunk)
            lat[i], lat_cpu[i] = time.perf_counter() - t0, time.process_time() - c0
        else:
            engine.publish(chunk)
    for p in engine.processors:
        for out in p.flush():
            engine.publish(out)
    return {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu, "lat": lat,
            "lat_cpu": lat_cpu, "cpu_by": cpu_by, "derived": derived[0]}


def _phase_events(runner, total_s: float) -> list[tuple]:
    """(onset, duration, label, kind, payload) of every phase of the repeated protocol."""
    events, onset = [], 0.0
    while onset < total_s:
        for phase in runner.protocol.phases:
            events.append((onset, phase.duration_s, phase.label, "phase",
                           {"phase_kind": phase.kind}))
            onset += phase.duration_s
    return events


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--chunk-ms", type=float, default=100.0)
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    total = args.minutes * 60.0
    sensor, runner, feed = generate(args.minutes, args.chunk_ms / 1000.0)
    print(f"{args.minutes:g} min of simulated ECG 1000 Hz + EDA 100 Hz + resp 32 Hz, "
          f"{len(feed)} chunks of {args.chunk_ms:g} ms, every default processor, one core")
    report([sensor], runner, feed, total, args.repeat)
    devices, runner, feed = generate_dyad(args.minutes, args.chunk_ms / 1000.0)
    print(f"\ndyad: two participants (a; b follows a by 3 s), {len(feed)} chunks, every default "
          "processor of each and the live synchrony of their HR and SCL, one core")
    report(devices, runner, feed, total, args.repeat)


def report(devices, runner, feed, total: float, repeat: int) -> None:
    """Print b. and c. (module notes) for one feed."""
    runs = [run_once(devices, runner, feed, total) for _ in range(repeat)]
    walls = [r["wall"] for r in runs]
    cpus = [r["cpu"] for r in runs]
    print(f"b. throughput: {total / statistics.median(walls):,.0f} x real time by wall clock, "
          f"{total / statistics.median(cpus):,.0f} x by CPU time (median of {repeat}; "
          f"wall {min(walls):.2f}-{max(walls):.2f} s, CPU {min(cpus):.2f}-{max(cpus):.2f} s)")
    timed = run_once(devices, runner, feed, total, timed=True)
    print(f"   CPU s per processor (timed run, {timed['derived']} derived samples):")
    for key, sec in sorted(timed["cpu_by"].items(), key=lambda kv: -kv[1]):
        print(f"     {key:45s} {sec:6.3f}  ({total / sec:,.0f} x real time alone)")
    for label, lat in (("wall", timed["lat"]), ("CPU", timed["lat_cpu"])):
        ms = lat * 1000.0
        print(f"c. latency per chunk ({label:4s}): p50 {np.percentile(ms, 50):.3f} ms, "
              f"p99 {np.percentile(ms, 99):.3f} ms, max {ms.max():.3f} ms")


if __name__ == "__main__":
    main()
