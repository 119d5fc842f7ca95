"""Online R-peak detection speed and memory vs neurokit2 on the same data.

1. MIT-BIH record 100 (MLII, 360 Hz, 30 min) tiled to 24 h is fed to
   :class:`biofeed.physio.ecg.RPeakDetector` in 10 s chunks. neurokit2 (``ecg_clean`` then
   ``ecg_peaks(correct_artifacts=True)``) runs on the first ``--nk-hours`` of the same signal in
   the same process; when that is shorter than 24 h its time is extrapolated linearly to 24 h
   and the printout says so.
2. Live throughput: the 1000 Hz NeuroKit2 example ECG, tiled, through
   :class:`biofeed.physio.ecg.RPeakProcessor` in 100 ms chunks (engine ``Chunk`` objects in and
   out), as multiples of real time.

Times come from a plain run; peak memory (Python/numpy allocations, the input excluded) from a
second run under tracemalloc. On a shared machine the wall-clock figures vary with load; the
live case also prints CPU time.

Run: ``python benchmarks/bench_ecg.py [--hours 24] [--nk-hours 2] [--data ../shared/data]``
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from _data import DATA, chunks, measure, mitdb_100, neurokit_example, tile, tile_hours

from biofeed.physio.ecg import RPeakDetector, RPeakProcessor
from biofeed.stream import Chunk, StreamInfo


def run_biofeed(x: np.ndarray, fs: float, chunk_s: float = 10.0) -> int:
    det = RPeakDetector(fs)
    beats = sum(len(det.update(c)) for c in chunks(x, int(chunk_s * fs)))
    return beats + len(det.flush())


def run_neurokit(x: np.ndarray, fs: float) -> int:
    import neurokit2 as nk
    clean = nk.ecg_clean(x, sampling_rate=int(fs))
    _, info = nk.ecg_peaks(clean, sampling_rate=int(fs), correct_artifacts=True)
    return len(info["ECG_R_Peaks"])


def live_throughput(x: np.ndarray, fs: float, chunk_s: float = 0.1) -> tuple[float, float, int]:
    """Signal seconds per wall-clock second and per CPU second through the processor, beats."""
    info = StreamInfo("ecg", "ecg", "mV", fs)
    proc = RPeakProcessor(info)
    step = int(chunk_s * fs)
    pieces = [Chunk(info, x[i:i + step], i / fs) for i in range(0, x.size, step)]
    wall, cpu = time.perf_counter(), time.process_time()
    beats = 0
    for c in pieces:
        for out in proc.update(c):
            beats += len(out) if out.info.kind == "rpeak" else 0
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return x.size / fs / wall, x.size / fs / cpu, beats


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=24.0, help="length of the tiled record")
    ap.add_argument("--nk-hours", type=float, default=2.0,
                    help="hours neurokit2 runs on (extrapolated to --hours when shorter)")
    ap.add_argument("--live-minutes", type=float, default=10.0)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()

    x, fs = mitdb_100(lead=0, data=args.data)
    x = tile_hours(x, fs, args.hours)
    print(f"MIT-BIH 100 MLII tiled to {args.hours:g} h at {fs:g} Hz ({x.size:,} samples), "
          "10 s chunks")

    t_bf, mem_bf, beats_bf = measure(lambda: run_biofeed(x, fs))
    print(f"  biofeed RPeakDetector : {t_bf:8.2f} s  peak {mem_bf / 2**20:7.1f} MiB  "
          f"{beats_bf} beats")

    nk_hours = min(args.nk_hours, args.hours)
    xn = x[:int(nk_hours * 3600 * fs)]
    t_nk, mem_nk, beats_nk = measure(lambda: run_neurokit(xn, fs))
    scale = args.hours / nk_hours
    note = "measured" if scale == 1 else f"measured on {nk_hours:g} h, x{scale:g} extrapolated"
    print(f"  neurokit2 clean+peaks : {t_nk * scale:8.2f} s  peak {mem_nk / 2**20:7.1f} MiB  "
          f"({note}; {beats_nk} beats in {nk_hours:g} h)")
    print(f"  speed-up              : {t_nk * scale / t_bf:8.1f} x")

    e = neurokit_example("ecg_1000hz.csv", "ECG", data=args.data)
    live = tile(e, int(args.live_minutes * 60 * 1000))
    wall, cpu, beats = live_throughput(live, 1000.0)
    print(f"Live: {live.size / 1000 / 60:g} min of 1000 Hz ECG in 100 ms chunks through "
          f"RPeakProcessor: {wall:,.0f} x real time by wall clock, {cpu:,.0f} x by CPU time "
          f"({beats} beats)")


if __name__ == "__main__":
    main()
