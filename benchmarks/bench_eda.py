"""Online EDA processing speed and memory vs neurokit2 ``eda_process`` on the same data.

Cases: 24 h at 100 Hz and 1 h at 1000 Hz, fed to :class:`biofeed.physio.eda.EdaTracker` in
10 s chunks. neurokit2 runs on a shorter span of the same signal (``--nk-minutes``) and its
time is extrapolated linearly to the full length; the printout says so. Times come from a
plain run; peak memory (Python/numpy allocations) from a second run under tracemalloc.

Run: ``python benchmarks/bench_eda.py [--hours-100 24] [--hours-1000 1] [--nk-minutes 30]``
"""
from __future__ import annotations

import argparse

import numpy as np
from _data import chunks, measure
from scipy.signal import oaconvolve

from biofeed.physio.eda import EdaTracker


def synthetic_eda(fs: float, seconds: float, seed: int = 0) -> np.ndarray:
    """Drifting SCL with Bateman SCRs every ~8 s and 0.002 uS noise, uS."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    x = 5.0 + 0.5 * np.sin(2 * np.pi * t / 900.0)
    kernel_t = np.arange(int(20 * fs)) / fs
    kernel = np.exp(-kernel_t / 2.0) - np.exp(-kernel_t / 0.75)
    impulses = np.zeros(n)
    onsets = np.cumsum(3.0 + rng.exponential(5.0, int(seconds / 3) + 1))
    onsets = onsets[onsets < seconds - 1]
    impulses[(onsets * fs).astype(int)] = rng.uniform(0.02, 1.0, onsets.size) / kernel.max()
    x += oaconvolve(impulses, kernel)[:n]
    return x + 0.002 * rng.standard_normal(n)


def run_biofeed(x: np.ndarray, fs: float, chunk_s: float = 10.0) -> int:
    tracker = EdaTracker(fs)
    n_scr = sum(len(tracker.update(c).scr) for c in chunks(x, int(chunk_s * fs)))
    return n_scr + len(tracker.flush().scr)


def run_neurokit(x: np.ndarray, fs: float) -> int:
    import neurokit2 as nk
    signals, info = nk.eda_process(x, sampling_rate=int(fs))
    return int(np.sum(signals["SCR_Peaks"]))


def case(label: str, fs: float, hours: float, nk_minutes: float) -> None:
    seconds = hours * 3600
    x = synthetic_eda(fs, seconds)
    t_bf, mem_bf, n_bf = measure(lambda: run_biofeed(x, fs))
    nk_seconds = min(seconds, nk_minutes * 60)
    xs = x[: int(nk_seconds * fs)]
    t_nk, mem_nk, n_nk = measure(lambda: run_neurokit(xs, fs))
    scale = seconds / nk_seconds
    t_nk_full = t_nk * scale
    print(f"\n== {label}: {hours:g} h at {fs:g} Hz ({x.size:,} samples), 10 s chunks ==")
    print(f"biofeed EdaTracker : {t_bf:8.2f} s  ({seconds / t_bf:,.0f}x real time)  "
          f"peak mem {mem_bf / 1e6:7.1f} MB  SCRs {n_bf}")
    extrap = f"measured on {nk_seconds / 60:g} min, x{scale:g} extrapolated" if scale > 1 else "measured"
    print(f"neurokit2 eda_process: {t_nk_full:8.2f} s  ({extrap}: {t_nk:.2f} s)  "
          f"peak mem {mem_nk / 1e6:7.1f} MB on that span (~{mem_nk * scale / 1e6:,.0f} MB if linear)  "
          f"SCR peaks {n_nk} on that span")
    print(f"ratio neurokit2 / biofeed time: {t_nk_full / t_bf:.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours-100", type=float, default=24.0)
    parser.add_argument("--hours-1000", type=float, default=1.0)
    parser.add_argument("--nk-minutes", type=float, default=30.0,
                        help="span neurokit2 runs on before extrapolation (minutes)")
    args = parser.parse_args()
    case("wearable/lab day", 100.0, args.hours_100, args.nk_minutes)
    case("lab system", 1000.0, args.hours_1000, args.nk_minutes)


if __name__ == "__main__":
    main()
