"""Online EDA processing vs neurokit2 ``eda_process`` on the same data: speed and memory,
SCR detection, tonic/phasic.

Speed: 24 h at 100 Hz and 1 h at 1000 Hz, fed to :class:`biofeed.physio.eda.EdaTracker` in
10 s chunks. neurokit2 runs on a shorter span of the same signal (``--nk-minutes``) and its
time is extrapolated linearly to the full length; the printout says so. Times come from a
plain run; peak memory (Python/numpy allocations) from a second run under tracemalloc.

Detection: synthetic SCRs of 0.05-1 uS (log-uniform, onsets at least 5 s apart) in white
noise of 0.004 uS (a wrist sensor) at 4, 32 and 100 Hz: recall (onset within 0.5 s of the
true onset, one to one) and the share of detections that match no SCR; then the SCRs each
finds in noise alone.

Tonic/phasic: a record starting at 5.0 uS with a 0.8 uS SCR at its first sample (tonic at
the first sample; truth 5.0), and NeuroKit2's resting recording (slowly falling conductance
in ADC steps; needs ``../shared/data``): share of samples with the phasic part below -0.03 and
-0.05 uS.

Run: ``python benchmarks/bench_eda.py [--hours-100 24] [--hours-1000 1] [--nk-minutes 30]
[--detection-minutes 30]``
"""
from __future__ import annotations

import argparse

import warnings

import numpy as np
from _data import DATA, chunks, measure, neurokit_example
from scipy.signal import oaconvolve

from biofeed.physio.eda import EdaTracker, eda
from biofeed.physio.scoring import match_beats


def synthetic_eda(fs: float, seconds: float, seed: int = 0, noise_us: float = 0.002,
                  amplitudes_us: tuple[float, float] = (0.02, 1.0), min_gap_s: float = 3.0,
                  log_amplitudes: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Drifting SCL with Bateman SCRs (``amplitudes_us``, uniform or log-uniform; onsets
    ``min_gap_s`` + about 5 s apart) and white noise of ``noise_us``, uS; and the onsets, s."""
    rng = np.random.default_rng(seed)
    n = int(seconds * fs)
    t = np.arange(n) / fs
    x = 5.0 + 0.5 * np.sin(2 * np.pi * t / 900.0)
    kernel_t = np.arange(int(20 * fs)) / fs
    kernel = np.exp(-kernel_t / 2.0) - np.exp(-kernel_t / 0.75)
    impulses = np.zeros(n)
    onsets = np.cumsum(min_gap_s + rng.exponential(5.0, int(seconds / min_gap_s) + 1))
    onsets = onsets[onsets < seconds - 1]
    lo, hi = amplitudes_us
    amplitudes = (np.exp(rng.uniform(np.log(lo), np.log(hi), onsets.size)) if log_amplitudes
                  else rng.uniform(lo, hi, onsets.size))
    impulses[np.ceil(onsets * fs).astype(int)] = amplitudes / kernel.max()
    x += oaconvolve(impulses, kernel)[:n]
    return x + noise_us * rng.standard_normal(n), np.ceil(onsets * fs) / fs


def run_biofeed(x: np.ndarray, fs: float, chunk_s: float = 10.0) -> int:
    tracker = EdaTracker(fs)
    n_scr = sum(len(tracker.update(c).scr) for c in chunks(x, int(chunk_s * fs)))
    return n_scr + len(tracker.flush().scr)


def run_neurokit(x: np.ndarray, fs: float) -> int:
    import neurokit2 as nk
    signals, info = nk.eda_process(x, sampling_rate=int(fs))
    return int(np.sum(signals["SCR_Peaks"]))


def neurokit_decomposition(x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """neurokit2's tonic and phasic parts (uS) and SCR onsets (s) of ``x``."""
    import neurokit2 as nk
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        signals, info = nk.eda_process(x, sampling_rate=int(fs))
    onsets = np.asarray(info["SCR_Onsets"], dtype=np.float64)
    return (signals["EDA_Tonic"].to_numpy(), signals["EDA_Phasic"].to_numpy(),
            onsets[np.isfinite(onsets)] / fs)


def detection(fs: float, minutes: float) -> None:
    """Recall and false share on known SCRs in 4 nS noise; SCRs found in noise alone."""
    x, onsets = synthetic_eda(fs, minutes * 60, seed=int(fs), noise_us=0.004,
                              amplitudes_us=(0.05, 1.0), min_gap_s=5.0, log_amplitudes=True)
    noise = 5.0 + 0.004 * np.random.default_rng(int(fs) + 1).standard_normal(x.size)
    result = eda(x, fs)
    found = {"biofeed": (result.scr["onset_s"].to_numpy(), len(eda(noise, fs).scr))}
    try:
        found["neurokit2"] = (neurokit_decomposition(x, fs)[2], neurokit_decomposition(noise, fs)[2].size)
    except Exception as exc:        # neurokit2 does not take every rate
        print(f"  neurokit2 at {fs:g} Hz failed: {type(exc).__name__}: {exc}")
    lo, hi = result.scr.attrs["min_amplitude_range_us"]
    print(f"\n== detection at {fs:g} Hz: {onsets.size} SCRs of 0.05-1 uS in {minutes:g} min, "
          f"4 nS noise (biofeed's smallest SCR {lo:.3f}-{hi:.3f} uS) ==")
    for name, (detected, in_noise) in found.items():
        hit = match_beats(detected, onsets, 0.5)
        false = detected.size - int(hit.sum())
        print(f"{name:10s}: recall {hit.mean():.3f}, false {false}/{detected.size} "
              f"({false / max(detected.size, 1):.3f}), {in_noise} SCRs in {minutes:g} min of "
              f"noise alone")


def decomposition() -> None:
    """Tonic at the first sample, and phasic undershoot on NeuroKit's resting recording."""
    fs = 100.0
    t = np.arange(int(60 * fs)) / fs
    response = np.exp(-t / 2.0) - np.exp(-t / 0.75)
    x = 5.0 + 0.8 * response / response.max()
    tonic = {"biofeed": eda(x, fs).tonic[0], "neurokit2": neurokit_decomposition(x, fs)[0][0]}
    print("\n== tonic at the first sample of a record at 5.0 uS starting with a 0.8 uS SCR ==")
    print("  ".join(f"{k}: {v:.3f} uS" for k, v in tonic.items()))
    if not (DATA / "neurokit" / "bio_resting_8min_100hz.csv").is_file():
        print(f"NeuroKit resting recording not found under {DATA}: skipped")
        return
    x = neurokit_example("bio_resting_8min_100hz.csv", "EDA")
    phasic = {"biofeed": eda(x, fs).phasic, "neurokit2": neurokit_decomposition(x, fs)[1]}
    print("\n== NeuroKit2 resting recording (8 min at 100 Hz, slowly falling in ADC steps) ==")
    for name, p in phasic.items():
        print(f"{name:10s}: phasic below -0.03 uS in {np.mean(p < -0.03):.4f}, below -0.05 uS "
              f"in {np.mean(p < -0.05):.4f} of samples")


def case(label: str, fs: float, hours: float, nk_minutes: float) -> None:
    seconds = hours * 3600
    x = synthetic_eda(fs, seconds)[0]
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
    parser.add_argument("--detection-minutes", type=float, default=30.0,
                        help="length of each detection case (minutes)")
    args = parser.parse_args()
    case("wearable/lab day", 100.0, args.hours_100, args.nk_minutes)
    case("lab system", 1000.0, args.hours_1000, args.nk_minutes)
    for fs in (4.0, 32.0, 100.0):
        detection(fs, args.detection_minutes)
    decomposition()


if __name__ == "__main__":
    main()
