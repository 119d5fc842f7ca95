"""Helpers of the beat tests (ECG, PPG, RR, HRV, coherence): simulated PPG and RR series,
matching beats to a reference, feeding a detector or processor in chunks. Imported as ``beat_testing`` (pytest puts this folder
on the path)."""
from __future__ import annotations

import numpy as np
import pytest

from biofeed.processor import Processor
from biofeed.stream import Chunk, StreamInfo


def simulate_ppg(fs: int, seed: int, noisy: bool, heart_rate: float = 70.0) -> np.ndarray:
    """2 min of ``neurokit2.ppg_simulate`` PPG (peaks up), with drift, motion and 50 Hz mains
    when ``noisy``."""
    nk = pytest.importorskip("neurokit2")
    noise = dict(motion_amplitude=0.2, powerline_amplitude=0.05, drift=1.0) if noisy else \
        dict(motion_amplitude=0.0, powerline_amplitude=0.0, drift=0.0)
    return nk.ppg_simulate(duration=120, sampling_rate=fs, heart_rate=heart_rate,
                           random_state=seed, **noise)


def match(detected: np.ndarray, reference: np.ndarray, tol: int) -> tuple[int, int, int]:
    """Greedy one-to-one matching within +-tol samples: (TP, FN, FP)."""
    detected = np.sort(detected)
    used = np.zeros(len(detected), bool)
    tp = 0
    for r in np.sort(reference):
        k = np.searchsorted(detected, r - tol)
        while k < len(detected) and detected[k] <= r + tol and used[k]:
            k += 1
        if k < len(detected) and detected[k] <= r + tol:
            used[k] = True
            tp += 1
    return tp, len(reference) - tp, len(detected) - tp


def run_chunked(detector, x: np.ndarray, sizes) -> np.ndarray:
    """Feed ``x`` to a fresh ``detector`` in chunks of the given sizes (cycled), then flush."""
    out, i, k = [], 0, 0
    while i < len(x):
        n = sizes[k % len(sizes)]
        out.append(detector.update(x[i:i + n]))
        i, k = i + n, k + 1
    out.append(detector.flush())
    return np.concatenate(out)


def run_processor(proc: Processor, info: StreamInfo, x: np.ndarray, size: int,
                  t0: float) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Feed ``x`` (stream ``info``, first sample at ``t0`` s) to ``proc`` in chunks of ``size``
    samples, then flush; per output stream name, the (timestamps, first-channel values)."""
    out: list[Chunk] = []
    for i in range(0, len(x), size):
        out += proc.update(Chunk(info, x[i:i + size], t0 + i / info.rate))
    out += proc.flush()
    return {o.name: (np.concatenate([c.timestamps for c in out if c.info.name == o.name]),
                     np.concatenate([c.values[:, 0] for c in out if c.info.name == o.name]))
            for o in proc.outputs}


def run_after_nn(proc: Processor, rr: np.ndarray, times: np.ndarray, cuts) -> tuple[np.ndarray, np.ndarray]:
    """RR (ms) cut at ``cuts`` -> NNProcessor -> ``proc``, as the engine chains them; returns the
    output timestamps (s) and values."""
    from biofeed.physio.rr import NNProcessor

    info = StreamInfo("rr", "rr", "ms", 0.0)
    clean = NNProcessor("rr")
    assert proc.inputs == (clean.outputs[0].name,)
    bounds = [0, *sorted(set(cuts)), rr.size]
    nn_chunks = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        nn_chunks += clean.update(Chunk(info, rr[a:b], times[a] if b > a else 0.0, times[a:b]))
    nn_chunks += clean.flush()
    chunks = [out for c in nn_chunks for out in proc.update(c)] + proc.flush()
    return np.concatenate([c.timestamps for c in chunks]), np.vstack([c.values for c in chunks])


def rr_from(fun, duration_s: float) -> np.ndarray:
    """RR series whose interval i is fun(t) at the beat that starts it (ms)."""
    t, out = 0.0, []
    while t < duration_s:
        out.append(fun(t))
        t += out[-1] / 1000
    return np.asarray(out)
