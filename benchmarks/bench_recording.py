"""Whole-recording analysis, ECG to HRV: biofeed against neurokit2 on the same 24 h of ECG.

Data: MIT-BIH record 100, lead MLII (360 Hz, 30 min), repeated end to end to ``--hours``.

- biofeed: the record is read in ``--chunk-s`` (10 s) chunks, generated from the 30 min record
  as they are consumed (as from a file), and goes through the live code path:
  :class:`~biofeed.physio.ecg.RPeakProcessor` (R-peaks and RR, one ``update`` a chunk); then
  :class:`~biofeed.physio.rr.RRCleaner` (artifact correction, Lipponen & Tarvainen 2019) and
  :func:`~biofeed.hrv` over the whole RR series.
- neurokit2: ``ecg_clean`` + ``ecg_peaks(correct_artifacts=True)`` + ``hrv_time`` +
  ``hrv_frequency(normalize=False)`` on the whole signal as one array (``--nk-hours``; when
  shorter than ``--hours`` its time is extrapolated linearly and the printout says so).

Both run in this process, pinned to one core; times are medians of ``--repeat`` runs (wall
clock and CPU time). Peak memory is the peak resident set size (``VmHWM``; ``ru_maxrss``
would carry over this process's peak through ``exec``) of a fresh subprocess per run, which
includes the imported libraries and the 30 min record (about 155 MB); biofeed's is printed for
6 h, ``--hours`` and twice that to show that it does not grow with the length of the
recording. The only thing that grows is the NN series itself, 8 bytes a beat (~1 MB a day;
twice that for a moment when its parts are joined): the R-peak detector and the artifact
correction keep bounded state and are fed bounded chunks and blocks of beats, and
:func:`~biofeed.hrv` works in bounded blocks (the time-domain sums, the spline resampling,
the Welch segments).

Run: ``python benchmarks/bench_recording.py [--hours 24] [--nk-hours 24] [--repeat 3]``
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

if __name__ == "__main__" and hasattr(os, "sched_setaffinity"):
    # one core for every thread of the process: pinned before numpy is imported, because
    # its BLAS library starts its worker threads then, with the affinity they start with
    # (pinning later moves only the main thread)
    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})

import numpy as np
from _data import mitdb_100, tile_hours

from biofeed.physio.ecg import RPeakProcessor
from biofeed.physio.hrv import hrv
from biofeed.physio.rr import BLOCK_BEATS, RRCleaner
from biofeed.stream import Chunk, StreamInfo


def ecg_chunks(record: np.ndarray, fs: float, hours: float, chunk_s: float):
    """``record`` repeated to ``hours`` h, yielded as consecutive chunks of ``chunk_s`` s, each
    a new array (as read from a file).

    A chunk within the record is a copy of a slice; only one that runs across the end of the
    record is gathered index by index (an index array and a modulo for every chunk cost a
    tenth as much as the R-peak detector's work on it).
    """
    total, step = int(hours * 3600 * fs), int(chunk_s * fs)
    period = record.size
    for i in range(0, total, step):
        start, n = i % period, min(step, total - i)
        if start + n <= period:
            yield record[start:start + n].copy()
        else:
            yield record[np.arange(start, start + n) % period]


def run_biofeed(record: np.ndarray, fs: float, hours: float, chunk_s: float) -> dict:
    """R-peaks online per chunk, artifact correction as the RR come, HRV of the whole recording.

    The RR intervals the detector emits are handed to one
    :class:`~biofeed.physio.rr.RRCleaner` whenever :data:`~biofeed.physio.rr.BLOCK_BEATS`
    have accumulated: the cleaner's output does not depend on how its input is chunked
    (tested), so this equals the live path (an :class:`~biofeed.physio.rr.NNProcessor` fed
    every chunk) at a fraction of the per-call cost. Only the NN intervals are kept (8 bytes a
    beat); the pending RR, the cleaner's history and :func:`~biofeed.hrv`'s work are bounded.
    Returns the HRV indices and the number of NN intervals.
    """
    info = StreamInfo("ecg", "ecg", "mV", fs)
    peaks = RPeakProcessor(info)
    rr_name = next(o.name for o in peaks.outputs if o.kind == "rr")
    cleaner = RRCleaner()
    rr, times, nn = [], [], []  # pending RR (ms) and beat times (s); NN parts (ms)
    pending = 0                 # beats in rr

    def collect(outs, final=False):
        nonlocal pending
        for out in outs:
            if out.info.name == rr_name:
                rr.append(out.values[:, 0])
                times.append(out.times)
                pending += len(out)
        if pending >= BLOCK_BEATS or (final and pending):
            nn.append(cleaner.update(np.concatenate(rr), np.concatenate(times)).nn_ms)
            rr.clear()
            times.clear()
            pending = 0

    t0 = 0.0
    for x in ecg_chunks(record, fs, hours, chunk_s):
        collect(peaks.update(Chunk(info, x, t0)))
        t0 += x.size / fs
    collect(peaks.flush(), final=True)
    nn.append(cleaner.flush().nn_ms)
    nn_ms = np.concatenate(nn)
    nn.clear()
    return {"beats": int(nn_ms.size), **hrv(nn_ms)}


def run_neurokit(x: np.ndarray, fs: float) -> dict:
    """neurokit2's pipeline on the whole signal; returns HRV + beat count."""
    import neurokit2 as nk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = nk.ecg_clean(x, sampling_rate=int(fs))
        _, info = nk.ecg_peaks(clean, sampling_rate=int(fs), correct_artifacts=True)
        r = info["ECG_R_Peaks"]
        t = nk.hrv_time(r, sampling_rate=int(fs))
        f = nk.hrv_frequency(r, sampling_rate=int(fs), normalize=False)
    return {"beats": len(r), "rmssd": float(t["HRV_RMSSD"].iloc[0]),
            "sdnn": float(t["HRV_SDNN"].iloc[0]), "lf": float(f["HRV_LF"].iloc[0]),
            "hf": float(f["HRV_HF"].iloc[0])}


def clocked(func):
    """Wall seconds, CPU seconds and result of one run."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = func()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def worker(which: str, hours: float, chunk_s: float) -> None:
    """Subprocess body: one run, then print wall, CPU and peak RSS as JSON."""
    record, fs = mitdb_100()
    if which == "biofeed":
        wall, cpu, _ = clocked(lambda: run_biofeed(record, fs, hours, chunk_s))
    else:
        x = tile_hours(record, fs, hours)
        wall, cpu, _ = clocked(lambda: run_neurokit(x, fs))
    print(json.dumps({"wall": wall, "cpu": cpu, "rss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """Peak resident set size of this process since it was exec'd, MB (Linux ``VmHWM``)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024  # kB


def in_subprocess(which: str, hours: float, chunk_s: float) -> dict:
    cmd = [sys.executable, __file__, "--worker", which, "--hours", str(hours),
           "--chunk-s", str(chunk_s)]
    done = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--nk-hours", type=float, default=24.0,
                    help="hours neurokit2 runs on (extrapolated to --hours when shorter)")
    ap.add_argument("--chunk-s", type=float, default=10.0)
    ap.add_argument("--repeat", type=int, default=3, help="runs of biofeed (neurokit2: 1)")
    ap.add_argument("--worker", choices=("biofeed", "neurokit"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        worker(args.worker, args.hours, args.chunk_s)
        return

    record, fs = mitdb_100()
    print(f"MIT-BIH 100 MLII repeated to {args.hours:g} h at {fs:g} Hz "
          f"({int(args.hours * 3600 * fs):,} samples), one core")
    runs = [clocked(lambda: run_biofeed(record, fs, args.hours, args.chunk_s))
            for _ in range(args.repeat)]
    wall_bf = statistics.median(r[0] for r in runs)
    cpu_bf = statistics.median(r[1] for r in runs)
    h_bf = runs[-1][2]
    print(f"  biofeed   (read in {args.chunk_s:g} s chunks, R-peaks, RRCleaner, hrv()): "
          f"{wall_bf:7.2f} s wall, {cpu_bf:7.2f} s CPU (median of {args.repeat}); "
          f"{h_bf['beats']} NN, RMSSD {h_bf['rmssd']:.1f} ms, LF {h_bf['lf']:.0f}, "
          f"HF {h_bf['hf']:.0f} ms^2")

    nk_hours = min(args.nk_hours, args.hours)
    x = tile_hours(record, fs, nk_hours)
    wall_nk, cpu_nk, h_nk = clocked(lambda: run_neurokit(x, fs))
    scale = args.hours / nk_hours
    note = "measured" if scale == 1 else f"measured on {nk_hours:g} h, x{scale:g} extrapolated"
    print(f"  neurokit2 (ecg_clean, ecg_peaks(correct_artifacts), hrv_time, hrv_frequency): "
          f"{wall_nk * scale:7.2f} s wall, {cpu_nk * scale:7.2f} s CPU ({note}); "
          f"{h_nk['beats']} beats, RMSSD {h_nk['rmssd']:.1f} ms, LF {h_nk['lf']:.0f}, "
          f"HF {h_nk['hf']:.0f} ms^2")
    print(f"  a. biofeed / neurokit2 time: {wall_bf / (wall_nk * scale):.3f} by wall clock "
          f"({wall_nk * scale / wall_bf:.1f}x faster), {cpu_bf / (cpu_nk * scale):.3f} by CPU")

    print("  peak memory (peak RSS of a fresh process per run, imports included):")
    for hours in sorted({min(6.0, args.hours), args.hours, 2 * args.hours}):
        m = in_subprocess("biofeed", hours, args.chunk_s)
        print(f"    biofeed   {hours:4g} h: {m['rss_mb']:7.1f} MB  ({m['wall']:.2f} s)")
    m = in_subprocess("neurokit", nk_hours, args.chunk_s)
    print(f"    neurokit2 {nk_hours:4g} h: {m['rss_mb']:7.1f} MB  ({m['wall']:.2f} s)")


if __name__ == "__main__":
    main()
