"""Time of ``biofeed analyze`` on a 1 h session: replay through the signal core, the per-phase
table, event-related epochs and the HTML report with its figures. Target: < 15 s in all.

Data: the simulated sensor (``biofeed.sim``, seed 3) at ECG 250 Hz, EDA 32 Hz and respiration
32 Hz, running the built-in ``DEMO`` protocol repeated to fill the hour (60 phases, 15 stressor
prompts), recorded at high speed with raw streams only (as a session recorded without live
processing, so analyze has everything to compute). Generating it is not timed.

Printed: seconds for reading + replay + tables (``analyze``), for the report (``write_report``),
and in total; median of ``--repeat`` runs.

Run: ``python benchmarks/bench_analyze.py [--minutes 60] [--repeat 3]``
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from pathlib import Path

from _data import timed

import biofeed as bf
from biofeed.analysis.analyze import analyze
from biofeed.analysis.report import write_report
from biofeed.devices.simulated import SimulatedSensor
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import DEMO, Protocol
from biofeed.session import Session
from biofeed.sim.physiology import SimConfig


def generate(minutes: float, out: Path) -> Path:
    """A raw-only session file of ``minutes`` of the DEMO protocol repeated."""
    repeats = max(1, round(minutes * 60 / DEMO.duration_s))
    protocol = Protocol(f"demo x{repeats}", DEMO.phases * repeats, DEMO.description)
    runner = ProtocolRunner(protocol)
    sensor = SimulatedSensor(SimConfig(seed=3, ecg_rate_hz=250.0, eda_rate_hz=32.0), runner.state_at)
    session = Session([sensor], runner, out_dir=out, speed=2000.0, processors=[])
    asyncio.run(session.run())
    return session.path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        seconds, path = timed(lambda: generate(args.minutes, Path(tmp)))
        rec = bf.read(path)
        print(f"session: {args.minutes:g} min, streams "
              + ", ".join(f"{n} {s.rate:g} Hz" for n, s in rec.streams.items())
              + f", {len(rec.events)} events (generated in {seconds:.1f} s)")
        runs = []
        for i in range(args.repeat):
            t_analyze, result = timed(lambda: analyze(bf.read(path)))
            t_report, files = timed(lambda: write_report(result, Path(tmp) / f"report{i}"))
            runs.append((t_analyze, t_report, t_analyze + t_report))
            print(f"run {i + 1}: analyze {t_analyze:.2f} s, report {t_report:.2f} s, "
                  f"total {t_analyze + t_report:.2f} s ({files.html.stat().st_size / 1e6:.2f} MB html)")
        med = [statistics.median(r[k] for r in runs) for k in range(3)]
        verdict = "meets" if med[2] < 15.0 else "MISSES"
        print(f"median: analyze {med[0]:.2f} s, report {med[1]:.2f} s, total {med[2]:.2f} s "
              f"({verdict} the 15 s target)")


if __name__ == "__main__":
    main()
