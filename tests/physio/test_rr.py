"""Artifact detection and correction (biofeed.physio.rr)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from biofeed.physio.hrv import hrv_time
from biofeed.physio.rr import (ARTIFACT_TYPES, ECTOPIC, EXTRA, MISSED, NORMAL, SHORT,
                               NNProcessor,
                               RRCleaner, clean_rr, detect_artifacts)
from biofeed.physio.scoring import BEAT_SYMBOLS
from biofeed.stream import Chunk, StreamInfo



def synthetic_rr(n: int, rng: np.random.Generator) -> np.ndarray:
    """Realistic clean RR (ms): 0.1 Hz and 0.27 Hz oscillations plus AR(1) noise."""
    t, e, out = 0.0, 0.0, np.empty(n)
    phase = rng.uniform(0, 2 * np.pi)
    for i in range(n):
        e = 0.9 * e + rng.normal(0, 8)
        out[i] = (850 + 35 * np.sin(2 * np.pi * 0.1 * t + phase)
                  + 25 * np.sin(2 * np.pi * 0.27 * t) + e)
        t += out[i] / 1000
    return out


def inject(rr: np.ndarray, rate: float, rng: np.random.Generator):
    """Inject ectopic / missed / extra beats (cycling) at ``rate`` of the beats.

    Returns the corrupted series, the indices of each event in it, and the event kinds.
    Ectopic: premature beat with compensatory pause (fraction 0.25-0.4 moved to the next
    interval). Missed: two intervals merged. Extra: one interval split at 30-70 %.
    """
    slots = np.arange(5, rr.size - 5, 5)
    pos = np.sort(rng.choice(slots, int(round(rate * rr.size)), replace=False))
    out, truth, kinds, i = [], [], [], 0
    for j, p in enumerate(pos):
        out.extend(rr[i:p])
        kind = ("ectopic", "missed", "extra")[j % 3]
        kinds.append(kind)
        if kind == "ectopic":
            f = rng.uniform(0.25, 0.4)
            truth.append((len(out), len(out) + 1))
            out.extend([rr[p] * (1 - f), rr[p + 1] + rr[p] * f])
            i = p + 2
        elif kind == "missed":
            truth.append((len(out),))
            out.append(rr[p] + rr[p + 1])
            i = p + 2
        else:
            f = rng.uniform(0.3, 0.7)
            truth.append((len(out), len(out) + 1))
            out.extend([rr[p] * f, rr[p] * (1 - f)])
            i = p + 1
    out.extend(rr[i:])
    return np.asarray(out), truth, kinds


def score(codes: np.ndarray, truth) -> tuple[float, float]:
    flagged = set(np.flatnonzero(codes).tolist())
    injected = {i for event in truth for i in event}
    sensitivity = np.mean([any(i in flagged for i in event) for event in truth])
    false_rate = len(flagged - injected) / codes.size
    return float(sensitivity), false_rate


@pytest.mark.parametrize("rate", [0.01, 0.03, 0.05])
@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_injected_artifacts_synthetic(seed, rate):
    rng = np.random.default_rng(seed)
    clean = synthetic_rr(3000, rng)
    bad, truth, _ = inject(clean, rate, rng)
    sensitivity, false_rate = score(detect_artifacts(bad), truth)
    assert sensitivity >= 0.95
    assert false_rate <= 0.01
    nn, _ = clean_rr(bad)
    rmssd_clean, rmssd_fixed = hrv_time(clean)["rmssd"], hrv_time(nn)["rmssd"]
    assert abs(rmssd_fixed / rmssd_clean - 1) <= 0.05
    assert hrv_time(bad)["rmssd"] > 2 * rmssd_clean  # the artifacts matter


def mitdb_rr(shared_data):
    wfdb = pytest.importorskip("wfdb")
    ann = wfdb.rdann(str(shared_data / "mitdb" / "100"), "atr")
    keep = np.isin(ann.symbol, list(BEAT_SYMBOLS))
    return np.diff(ann.sample[keep]) / 360 * 1000, np.asarray(ann.symbol)[keep][1:]


@pytest.mark.parametrize("rate", [0.01, 0.05])
def test_injected_artifacts_mitdb_normal_beats(shared_data, rate):
    """RR between consecutive normal (N) beats of MIT-BIH 100, artifacts injected."""
    rr, sym = mitdb_rr(shared_data)
    normal = (sym == "N") & np.concatenate(([True], sym[:-1] == "N"))
    clean = rr[normal]
    bad, truth, _ = inject(clean, rate, np.random.default_rng(7))
    sensitivity, false_rate = score(detect_artifacts(bad), truth)
    assert sensitivity >= 0.95
    assert false_rate <= 0.01
    nn, _ = clean_rr(bad)
    assert abs(hrv_time(nn)["rmssd"] / hrv_time(clean)["rmssd"] - 1) <= 0.05


def test_mitdb_real_ectopic_beats_flagged(shared_data):
    rr, sym = mitdb_rr(shared_data)
    codes = detect_artifacts(rr)
    ectopic = np.isin(sym, ["A", "V"])
    flagged = codes > 0
    assert np.all(flagged[ectopic] | flagged[np.roll(ectopic, 1)])
    near = ectopic | np.roll(ectopic, 1) | np.roll(ectopic, -1)
    assert np.sum(flagged & ~near) / rr.size <= 0.01


def test_each_correction():
    base = np.full(60, 800.0) + 10 * np.sin(np.arange(60))
    rr = base.copy()
    rr[30], rr[31] = 500.0, base[31] + 300.0             # ectopic pair
    rr = np.concatenate((rr[:45], [rr[45] + rr[46]], rr[47:]))  # missed beat at 45
    rr = np.concatenate((rr[:52], [300.0, rr[52] - 300.0], rr[53:]))  # extra beat at 52
    codes = detect_artifacts(rr)
    # premature beat: the compensatory interval has the ectopic NPN pattern, the short one is
    # caught as short by its deviation from the median
    assert codes[30] == SHORT and codes[31] == ECTOPIC
    assert codes[45] == MISSED and codes[52] == EXTRA
    assert set(np.flatnonzero(codes)) <= {30, 31, 45, 52, 53}  # 53 is merged into 52
    nn, art = clean_rr(rr)
    assert nn.size == rr.size + 1 - 1
    assert art[30] == SHORT and art[31] == ECTOPIC
    assert nn[30] == np.median(rr[25:36]) and nn[31] == np.median(rr[26:37])
    assert art[45] == art[46] == MISSED and nn[45] == nn[46] == rr[45] / 2
    assert art[53] == EXTRA and nn[53] == pytest.approx(rr[52] + rr[53])
    assert np.array_equal(nn[art == NORMAL], np.delete(rr, [30, 31, 45, 52, 53]))
    assert ARTIFACT_TYPES[MISSED] == "missed"


def test_online_times():
    rr = np.full(40, 800.0)
    rr[25] = 1600.0
    t = 100 + np.cumsum(rr) / 1000
    cleaner = RRCleaner()
    a, b = cleaner.update(rr, t), cleaner.flush()
    times = np.concatenate((a.times_s, b.times_s))
    assert np.allclose(np.diff(times), 0.8)
    assert times[-1] == t[-1]


def test_lookahead_is_bounded():
    rr = synthetic_rr(200, np.random.default_rng(3))
    cleaner = RRCleaner()
    n_out = 0
    for i in range(rr.size):
        n_out += cleaner.update(rr[i:i + 1], [i]).nn_ms.size
        if i >= 25:
            assert n_out >= i + 1 - 5


def test_invalid_rr():
    with pytest.raises(ValueError):
        clean_rr([800, -1, 800])
    with pytest.raises(ValueError):
        detect_artifacts([800, np.nan])
    assert clean_rr([])[0].size == 0
    assert np.array_equal(clean_rr([800.0])[0], [800.0])


def chunked(rr, times, cuts):
    cleaner = RRCleaner()
    bounds = [0, *sorted(set(cuts)), rr.size]
    parts = [cleaner.update(rr[a:b], times[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    parts.append(cleaner.flush())
    keys = ("nn_ms", "artifact", "times_s")
    return [np.concatenate([getattr(p, k) for p in parts]) for k in keys]


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 400),
       cuts=st.lists(st.integers(1, 399), max_size=40))
def test_chunk_invariance(seed, n, cuts):
    rng = np.random.default_rng(seed)
    rr, _, _ = inject(synthetic_rr(n + 20, rng), 0.05, rng)
    rr = rr[:n]
    times = np.cumsum(rr) / 1000
    nn, art = clean_rr(rr)
    got = chunked(rr, times, [c for c in cuts if c < rr.size])
    assert np.array_equal(got[0], nn)
    assert np.array_equal(got[1], art)
    one = chunked(rr, times, [])
    assert np.array_equal(got[2], one[2])


def test_nn_processor():
    rng = np.random.default_rng(5)
    rr, _, _ = inject(synthetic_rr(300, rng), 0.03, rng)
    times = 2.0 + np.cumsum(rr) / 1000
    info = StreamInfo("polar/rr", "rr", "ms", 0.0)
    proc = NNProcessor("polar/rr")
    assert proc.inputs == ("polar/rr",)
    out_info = proc.outputs[0]
    assert (out_info.name, out_info.kind, out_info.unit, out_info.channels) == (
        "polar/rr.nn", "nn", "ms", ("nn_ms", "artifact"))
    chunks = []
    for a in range(0, rr.size, 7):
        chunks += proc.update(Chunk(info, rr[a:a + 7], times[a], times[a:a + 7]))
    chunks += proc.flush()
    values = np.vstack([c.values for c in chunks])
    nn, art = clean_rr(rr)
    assert np.array_equal(values[:, 0], nn)
    assert np.array_equal(values[:, 1], art)
    assert all(c.info is out_info for c in chunks)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 300), first=st.integers(0, 300),
       quantised=st.booleans())
def test_rolling_median_paths_agree(seed, n, first, quantised):
    """The numpy path (live updates) and the pandas path (long series) give identical medians."""
    from biofeed.physio import rr as rr_module
    rng = np.random.default_rng(seed)
    x = rng.normal(800, 50, n)
    if quantised:  # ties, as with 1 ms or 1/1024 s resolution
        x = np.round(x / 10) * 10
    first = min(first, n)
    for before, after in ((90, 0), (5, 5)):
        small = rr_module._rolling_median(x, before, after, first)
        big = pd.Series(x).rolling(before + after + 1, center=after > 0, min_periods=1).median()
        assert np.array_equal(small, big.to_numpy()[first:])


@pytest.mark.parametrize("block", [1, 7, 20, 100, 101, 997])
@pytest.mark.parametrize("kind", ["injected", "heavy_tailed"])
def test_blocks_equal_one_pass(monkeypatch, block, kind):
    """clean_rr and detect_artifacts walk the series in blocks of BLOCK_BEATS beats (bounded
    memory): every block size gives what one pass over the whole series gives."""
    from biofeed.physio import rr as rr_module
    rng = np.random.default_rng(21)
    if kind == "injected":
        rr, _, _ = inject(synthetic_rr(2500, rng), 0.05, rng)
    else:  # many beats near thresholds that move: codes depend on every beat of the windows
        scale = np.where(np.sin(np.arange(2500) / 150) > 0, 50.0, 10.0)
        rr = np.clip(800 + scale * rng.standard_t(2, 2500), 300, 2000)
    monkeypatch.setattr(rr_module, "BLOCK_BEATS", rr.size + 10)  # one pass
    nn, art = clean_rr(rr)
    codes = detect_artifacts(rr)
    assert np.count_nonzero(codes) > 100 and nn.size != rr.size  # splits and merges happen
    monkeypatch.setattr(rr_module, "BLOCK_BEATS", block)
    nn_blocks, art_blocks = clean_rr(rr)
    assert np.array_equal(nn_blocks, nn) and np.array_equal(art_blocks, art)
    assert np.array_equal(detect_artifacts(rr), codes)


def test_long_series_chunked_equals_batch():
    """Batch on 6000 beats uses the pandas path, live updates the numpy path."""
    rng = np.random.default_rng(11)
    rr, _, _ = inject(synthetic_rr(6000, rng), 0.03, rng)
    nn, art = clean_rr(rr)
    got = chunked(rr, np.cumsum(rr) / 1000, rng.integers(1, rr.size, 150).tolist())
    assert np.array_equal(got[0], nn) and np.array_equal(got[1], art)
