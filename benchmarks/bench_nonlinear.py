"""Speed and memory of the nonlinear and geometric HRV indices, biofeed beside neurokit2.

Data: the NN intervals of MIT-BIH record 100 (intervals between successive beats both
annotated normal, 2204 beats, 30 min), from ../shared/data.

* live window: its first 300 beats (about 4 min), median of many calls;
* 24 h: the record repeated to 100,000 beats, plain (as ``bench_hrv.py``: exact repeats) and
  with a day/night swing added (+-100 ms cosine over the 100,000 beats, slower at night), which
  makes the SD, and so the entropy tolerance r = 0.2 SD, what a Holter record has: many more
  templates match, so the entropies take longer.

neurokit2 runs the same series with the calls its ``hrv_nonlinear`` makes (tolerance 0.2 SD,
DFA boxes of 4-16 and 16-64 beats) and ``hrv_time`` (HTI, TINN). Its indices take minutes on
100,000 beats, so it is timed on the first 10,000 beats of each 24 h series instead (said in
the table). Peak memory is the largest rise of the resident set during one call (Linux
/proc/self/statm, sampled every millisecond), each index in a fresh process, so C++
allocations (the k-d tree) count too.

Run: python benchmarks/bench_nonlinear.py
"""
from __future__ import annotations

import resource
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
from _data import DATA, median_call_s

from biofeed.physio.geometric import tinn, triangular_index
from biofeed.physio.nonlinear import (approximate_entropy, dfa_alpha1, dfa_alpha2,
                                      sample_entropy)

HERE = Path(__file__).resolve().parent
RECORD = DATA / "mitdb" / "100"
BEAT_SYMBOLS = list("NLRBAaJSVrFejnE/fQ?")
DAY_BEATS = 100_000
NK_BEATS = 10_000

OURS = {"SampEn": sample_entropy, "ApEn": approximate_entropy, "DFA alpha1": dfa_alpha1,
        "DFA alpha2": dfa_alpha2, "triangular index": triangular_index, "TINN": tinn}


def theirs(name: str, nn: np.ndarray) -> float:
    """One index from neurokit2, called as its hrv_nonlinear / hrv_time do."""
    import neurokit2 as nk
    tol = 0.2 * np.std(nn, ddof=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if name == "SampEn":
            return nk.entropy_sample(nn, delay=1, dimension=2, tolerance=tol)[0]
        if name == "ApEn":
            return nk.entropy_approximate(nn, delay=1, dimension=2, tolerance=tol)[0]
        if name == "DFA alpha1":
            return nk.fractal_dfa(nn, scale=np.arange(4, 17))[0]
        if name == "DFA alpha2":
            return nk.fractal_dfa(nn, scale=np.arange(16, 65))[0]
        t = nk.hrv_time({"RRI": nn}).iloc[0]
        return t["HRV_HTI"] if name == "triangular index" else t["HRV_TINN"]


def load_nn() -> np.ndarray:
    import wfdb
    ann = wfdb.rdann(str(RECORD), "atr")
    sym = np.array(ann.symbol)
    beat = np.isin(sym, BEAT_SYMBOLS)
    sym, samples = sym[beat], ann.sample[beat]
    return (np.diff(samples) / ann.fs * 1000)[(sym[:-1] == "N") & (sym[1:] == "N")]


def day_series(nn: np.ndarray) -> dict[str, np.ndarray]:
    plain = np.tile(nn, -(-DAY_BEATS // nn.size))[:DAY_BEATS]
    swing = 100 * np.cos(2 * np.pi * np.arange(DAY_BEATS) / DAY_BEATS)
    return {"24 h tiled": plain, "24 h + day/night": plain + swing}


def once_s(fn) -> tuple[float, float]:
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def rss_rise_mb(series: str, name: str) -> float:
    """Rise of resident memory (MB) while one index runs on one 24 h series, in a fresh
    interpreter (freed memory of earlier work would hide the rise)."""
    code = (f"import sys; sys.path.insert(0, {str(HERE)!r}); import bench_nonlinear as b; "
            f"b._rss_child({series!r}, {name!r})")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    return float(out.stdout.split()[-1])


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * resource.getpagesize()


def _rss_child(series: str, name: str) -> None:
    """Print the largest rise of the resident set above its level before the call, MB,
    sampled every millisecond while the call runs."""
    x = day_series(load_nn())[series]
    OURS[name](x[:1000])  # imports and first-call allocations before the baseline
    before, peak, done = _rss_bytes(), [0], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], _rss_bytes())
            time.sleep(0.001)

    thread = threading.Thread(target=sample)
    thread.start()
    OURS[name](x)
    done.set()
    thread.join()
    print(max(peak[0] - before, 0) / 2**20)


def main() -> int:
    if not RECORD.with_suffix(".atr").is_file():
        print(f"MIT-BIH record 100 not found at {RECORD} (see ../shared/data/README.md)")
        return 1
    nn = load_nn()
    window = nn[:300]
    print(f"live window: {window.size} beats of MIT-BIH 100 NN ({window.sum() / 1000:.0f} s)")
    print(f"{'index':18s} {'biofeed ms':>11s} {'neurokit2 ms':>13s} {'value':>9s} {'nk value':>9s}")
    total = 0.0
    for name, f in OURS.items():
        ours = 1e3 * median_call_s(lambda: f(window), 200)
        nk = 1e3 * median_call_s(lambda: theirs(name, window), 20)
        total += ours
        print(f"{name:18s} {ours:11.3f} {nk:13.2f} {f(window):9.4f} {theirs(name, window):9.4f}")
    print(f"{'all six':18s} {total:11.3f}")

    for label, x in day_series(nn).items():
        print(f"\n{label}: {x.size} beats, SD {np.std(x, ddof=1):.0f} ms; neurokit2 on the "
              f"first {NK_BEATS} beats")
        print(f"{'index':18s} {'biofeed s':>10s} {'peak MB':>8s} {'value':>9s}   "
              f"{'biofeed s':>9s} {'neurokit2 s':>11s} at {NK_BEATS} beats")
        for name, f in OURS.items():
            t_day, v = once_s(lambda: f(x))
            mem = rss_rise_mb(label, name)
            t_small, _ = once_s(lambda: f(x[:NK_BEATS]))
            t_nk, _ = once_s(lambda: theirs(name, x[:NK_BEATS]))
            print(f"{name:18s} {t_day:10.3f} {mem:8.1f} {v:9.4f}   {t_small:9.3f} {t_nk:11.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
