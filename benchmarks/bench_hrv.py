"""Speed of biofeed's RR cleaning and HRV indices against neurokit2 on the same 24 h of RR.

Data: the RR series of MIT-BIH record 100 (expert annotations, 30 min, real atrial and
ventricular ectopic beats) repeated to 24 h (~109k beats), from ../shared/data. Both libraries
run in this process on the same intervals. Also times the live processors' per-update cost
(NN from RR one beat a chunk; HRV and coherence from that NN stream, as in the pipeline).

Run: python benchmarks/bench_hrv.py
"""
from __future__ import annotations

import sys
import time
import warnings

import numpy as np
from _data import DATA as SHARED_DATA, median_call_s

import biofeed.physio.coherence as coh
import biofeed.physio.hrv as bh
import biofeed.physio.rr as brr
from biofeed.stream import Chunk, StreamInfo

DATA = SHARED_DATA / "mitdb" / "100"
BEAT_SYMBOLS = list("NLRBAaJSVrFejnE/fQ?")


def best_of(fn, repeat: int = 3) -> tuple[float, object]:
    """Fastest wall time of ``repeat`` runs (s) and the last result."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def load_rr() -> np.ndarray:
    import wfdb
    ann = wfdb.rdann(str(DATA), "atr")
    rr = np.diff(ann.sample[np.isin(ann.symbol, BEAT_SYMBOLS)]) / 360 * 1000
    return np.tile(rr, int(np.ceil(86400 / (rr.sum() / 1000))))


def batch(rr: np.ndarray) -> None:
    import neurokit2 as nk
    peaks = np.concatenate(([0], np.round(np.cumsum(rr)).astype(np.int64)))  # 1000 Hz samples
    print(f"24 h of RR: {rr.size} beats, {rr.sum() / 3.6e6:.2f} h\n")
    rows = []
    t_clean, (nn, art) = best_of(lambda: brr.clean_rr(rr))
    t_time, _ = best_of(lambda: bh.hrv_time(nn))
    t_freq, _ = best_of(lambda: bh.hrv_frequency(nn))
    print(f"biofeed: {np.count_nonzero(art)} beats corrected, NN {nn.size}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        n_fix, (info, _) = best_of(lambda: nk.signal_fixpeaks(peaks, sampling_rate=1000,
                                                               method="Kubios"), repeat=1)
        n_flag = sum(len(info[k]) for k in ("ectopic", "missed", "extra", "longshort"))
        print(f"neurokit2 Kubios: {n_flag} beats flagged")
        rri = {"RRI": nn}
        n_time, _ = best_of(lambda: nk.hrv_time(rri))
        n_freq4, _ = best_of(lambda: nk.hrv_frequency(rri, normalize=False, interpolation_rate=4))
        n_freq, _ = best_of(lambda: nk.hrv_frequency(rri, normalize=False), repeat=1)
    rows += [("artifact correction (Kubios method)", t_clean, n_fix),
             ("time domain", t_time, n_time),
             ("frequency domain, 4 Hz", t_freq, n_freq4),
             ("frequency domain, nk default 100 Hz", t_freq, n_freq),
             ("total (clean + time + freq 4 Hz)", t_clean + t_time + t_freq,
              n_fix + n_time + n_freq4)]
    print(f"\n{'step':40s} {'biofeed s':>10s} {'neurokit2 s':>12s} {'speed-up':>9s}")
    for name, ours, theirs in rows:
        print(f"{name:40s} {ours:10.4f} {theirs:12.4f} {theirs / ours:8.1f}x")


def per_call(fn, n: int = 300) -> float:
    """Median time of one call, microseconds."""
    return 1e6 * median_call_s(fn, n)


def live(rr: np.ndarray, repeat: int = 5) -> None:
    """Per-call cost of the live HRV functions and per-update cost of the live processors.

    The processors run on the first ~30 min of RR, one beat a chunk as from a chest strap
    (NNProcessor), and on the NN stream it emits (HRV, coherence), as the pipeline chains them;
    each feed is timed ``repeat`` times on fresh processors and the fastest run is reported
    (the others are slowed by whatever else runs on the machine).
    """
    rr = rr[:2300]  # ~30 min
    times = np.cumsum(rr) / 1000
    nn, _ = brr.clean_rr(rr)
    nn60, nn300, nn64 = nn[-75:], nn[-375:], nn[-90:]
    print("\nlive, one call (median of 300):")
    print(f"  hrv_time, 60 s window       {per_call(lambda: bh.hrv_time(nn60)):8.0f} us")
    print(f"  hrv_frequency, 300 s window {per_call(lambda: bh.hrv_frequency(nn300)):8.0f} us")
    print(f"  coherence, 64 s             {per_call(lambda: coh.coherence_peak(nn64)):8.0f} us")
    info = StreamInfo("rr", "rr", "ms", 0.0)
    rr_chunks = [Chunk(info, rr[i:i + 1], times[i], times[i:i + 1]) for i in range(rr.size)]
    cleaner = brr.NNProcessor("rr")
    nn_chunks = [out for c in rr_chunks for out in cleaner.update(c)] + cleaner.flush()
    nn_name = cleaner.outputs[0].name
    print(f"live processors (fastest of {repeat} runs):")
    for make, label, feed in (
            (lambda: brr.NNProcessor("rr"), "NNProcessor (RR in)", rr_chunks),
            (lambda: bh.HRVProcessor(nn_name), "HRVProcessor (60 s / 300 s, NN in)", nn_chunks),
            (lambda: bh.HRVProcessor(nn_name, spectral_period_s=1),
             "  same, spectrum every 1 s", nn_chunks),
            (lambda: coh.CoherenceProcessor(nn_name), "CoherenceProcessor (NN in)", nn_chunks)):
        dt = np.inf
        for _ in range(repeat):
            proc, n_out = make(), 0
            t0 = time.perf_counter()
            for chunk in feed:
                n_out += sum(len(c) for c in proc.update(chunk))
            n_out += sum(len(c) for c in proc.flush())
            dt = min(dt, time.perf_counter() - t0)
        print(f"  {label:36s} {len(feed)} chunks -> {n_out} samples, "
              f"{1e6 * dt / len(feed):6.0f} us per update, {1e6 * dt / n_out:6.0f} us per output")


def main() -> int:
    if not DATA.with_suffix(".atr").is_file():
        print(f"MIT-BIH record 100 not found at {DATA} (see ../shared/data/README.md)")
        return 1
    rr = load_rr()
    batch(rr)
    live(rr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
