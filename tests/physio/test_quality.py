"""Signal quality (biofeed.physio.quality): real ECG rated as the published rules say, a
pulled electrode rated poor within 10 s, EDA rules, PPG skewness; any chunking, same ratings."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from biofeed.physio.quality import (EDA_CHANNELS, ECG_CHANNELS, HOP_S, PPG_CHANNELS, SEGMENT_S,
                                    beat_rules, ecg_quality, eda_quality, longest_flat_s,
                                    ppg_quality, template_correlation)
from biofeed.pipeline import raw_processors
from biofeed.stream import Chunk, StreamInfo

GOOD = 0


def _mitdb(shared_data, record):
    wfdb = pytest.importorskip("wfdb")
    path = str(shared_data / "mitdb" / record)
    rec = wfdb.rdrecord(path)
    return rec.p_signal[:, 0], rec.fs, path


@pytest.mark.parametrize("record", ["100", "119"])
def test_clean_mitdb_records_are_good(shared_data, record):
    # 100: normal sinus rhythm; 119: ventricular bigeminy (real beats of two shapes)
    x, fs, _ = _mitdb(shared_data, record)
    q = ecg_quality(x, fs)
    assert len(q) == int((len(x) / fs - SEGMENT_S) // HOP_S) + 1
    assert q[:, GOOD].mean() >= 0.98


def test_noisy_stretches_of_mitdb_105_are_poor(shared_data):
    """MIT-BIH 105 (heavy noise): the noisiest stretches are rated poor and the clean ones good.

    Noise is measured without any detector: the 0.5-40 Hz ECG minus the median beat placed at
    every expert beat position, as RMS per segment."""
    wfdb = pytest.importorskip("wfdb")
    x, fs, path = _mitdb(shared_data, "105")
    reference = wfdb.rdann(path, "qrs").sample
    y = sps.sosfiltfilt(sps.butter(2, [0.5, 40], "bandpass", fs=fs, output="sos"), x)
    before, after = round(0.2 * fs), round(0.4 * fs)
    reference = reference[(reference > before) & (reference < len(y) - after)]
    template = np.median([y[r - before:r + after] for r in reference], axis=0)
    residual = y.copy()
    for r in reference:
        residual[r - before:r + after] -= template
    q = ecg_quality(x, fs)
    hop, width = round(HOP_S * fs), round(SEGMENT_S * fs)
    noise = np.array([np.sqrt(np.mean(residual[k * hop:k * hop + width] ** 2))
                      for k in range(len(q))])
    rank = np.argsort(np.argsort(noise)) / len(q)      # 0 cleanest ... 1 noisiest
    good = q[:, GOOD] == 1
    assert not good[rank >= 0.95].any()                # the noisiest 5 % are all poor
    assert (rank[~good] >= 0.9).all()                  # and what is poor is among the noisiest
    assert good[rank < 0.5].all()
    assert 0.8 <= good.mean() < 0.98


def _seconds_to_poor(y: np.ndarray, fs: float, pulled_s: float) -> float:
    """Feed ECG ``y`` in 100 ms chunks through the pipeline's ECG processors; seconds of
    signal after ``pulled_s`` until a poor segment ending after it comes out."""
    info = StreamInfo("ecg", "ecg", "mV", fs)
    procs = raw_processors(info)
    n = round(0.1 * fs)
    for i in range(0, len(y), n):
        for proc in procs:
            for c in proc.update(Chunk(info, y[i:i + n], i / fs)):
                if c.info.kind == "quality" and ((c.values[:, GOOD] == 0)
                                                 & (c.times > pulled_s)).any():
                    return (i + n) / fs - pulled_s
    return np.inf


@pytest.fixture(scope="module")
def simulated_ecg():
    nk = pytest.importorskip("neurokit2")
    fs = 250
    return nk.ecg_simulate(duration=80, sampling_rate=fs, heart_rate=70, random_state=2), fs


@pytest.mark.parametrize("pulled_s", [30.0, 31.0, 33.3, 34.9])
@pytest.mark.parametrize("fault", ["stuck", "railed", "no beats"])
def test_a_pulled_electrode_is_poor_within_10_s(simulated_ecg, pulled_s, fault):
    x, fs = simulated_ecg
    assert (ecg_quality(x, fs)[:, GOOD] == 1).all()
    y, k = x.copy(), round(pulled_s * fs)
    y[k:] = {"stuck": y[k], "railed": 5.0,     # at the top of a +-5 mV input range
             "no beats": np.random.default_rng(0).normal(0, 0.01, len(y) - k)}[fault]
    assert _seconds_to_poor(y, fs, pulled_s) <= 10.0


def test_any_chunking_gives_the_same_ratings(simulated_ecg):
    from beat_testing import simulate_ppg

    x, fs = simulated_ecg
    y = x.copy()
    y[round(40 * fs):round(47 * fs)] = 0.0      # a dropout, some poor segments
    info = StreamInfo("ecg", "ecg", "mV", fs)
    eda_info = StreamInfo("eda", "eda", "uS", fs)
    eda = 5 + np.cumsum(np.random.default_rng(3).normal(0, 0.01, len(x)))
    eda[round(20 * fs):round(21 * fs)] = 0.0
    ppg = simulate_ppg(fs, 4, noisy=True)[:len(x)]
    ppg[round(30 * fs):round(40 * fs)] = np.random.default_rng(4).normal(size=round(10 * fs))
    ppg_info = StreamInfo("ppg", "ppg", "a.u.", fs)
    whole = {"ecg": ecg_quality(y, fs), "eda": eda_quality(eda, fs), "ppg": ppg_quality(ppg, fs)}
    for rows in whole.values():
        assert (rows[:, GOOD] == 0).any() and (rows[:, GOOD] == 1).any()
    rng = np.random.default_rng(5)
    for signal, stream in ((y, info), (eda, eda_info), (ppg, ppg_info)):
        (proc,) = [p for p in raw_processors(stream) if "quality" in {o.kind for o in p.outputs}]
        out, i = [], 0
        while i < len(signal):
            n = int(rng.integers(1, 400))
            out += proc.update(Chunk(stream, signal[i:i + n], i / fs))
            i += n
        out += proc.flush()
        rows = np.vstack([c.values for c in out if c.info.kind == "quality"])
        times = np.concatenate([c.times for c in out if c.info.kind == "quality"])
        np.testing.assert_array_equal(rows, whole[stream.kind])
        np.testing.assert_allclose(times, SEGMENT_S + HOP_S * np.arange(len(rows)), atol=1e-9)


def test_beat_rules_count_the_stretches_without_beats():
    fs = 100.0
    beats = np.array([100, 200, 300, 500])          # 1 s, 1 s, 2 s apart, in a 10 s segment
    hr, max_rr, ratio = beat_rules(beats, 1000, fs)
    assert hr == pytest.approx(60 / (4 / 3)) and ratio == pytest.approx(2.0)
    assert max_rr == pytest.approx(5.0)              # from the last beat to the segment's end
    assert np.isnan(beat_rules(np.array([500]), 1000, fs)[0])
    assert beat_rules(np.empty(0, int), 1000, fs)[1] == pytest.approx(10.0)


def test_template_correlation_and_stuck_stretches():
    t = np.arange(1000)
    beats = np.arange(50, 1000, 100)
    x = np.zeros(1000)
    for b in beats:
        x[b - 5:b + 5] = np.hanning(10)
    assert template_correlation(x, beats) == pytest.approx(1.0)
    noisy = x + np.random.default_rng(0).normal(0, 1.0, 1000)
    assert template_correlation(noisy, beats) < 0.66
    assert np.isnan(template_correlation(x, beats[:1]))
    assert longest_flat_s(np.sin(t / 10.0), 100.0) == 0.0
    y = np.sin(t / 10.0)
    y[200:450] = 3.0
    assert longest_flat_s(y, 100.0) == pytest.approx(2.5)


def _eda(fs: float, seconds: float = 60.0) -> np.ndarray:
    """Skin conductance 4 uS with a slow SCR every 15 s (uS)."""
    t = np.arange(round(seconds * fs)) / fs
    phase = t % 15.0
    return 4.0 + 0.4 * (np.exp(-phase / 2.0) - np.exp(-phase / 0.75))


@pytest.mark.parametrize("fs", [4.0, 32.0, 1000.0])
def test_eda_rules(fs):
    x = _eda(fs)
    assert len(EDA_CHANNELS) == eda_quality(x, fs).shape[1]
    assert (eda_quality(x, fs)[:, GOOD] == 1).all()
    ends = SEGMENT_S + HOP_S * np.arange(len(eda_quality(x, fs)))

    def poor_ends(y):
        return set(ends[eda_quality(y, fs)[:, GOOD] == 0])

    # a detached electrode for 1 s from 30 s: out of range (< 0.05 uS); with the 5 s before
    # and after it, every segment overlapping 25-36 s is poor, the others good
    low = x.copy()
    low[round(30 * fs):round(31 * fs)] = 0.01
    assert poor_ends(low) == {e for e in ends if e - SEGMENT_S < 36 and e > 25}
    high = x.copy()
    high[round(30 * fs):round(31 * fs)] = 70.0      # above 60 uS
    assert poor_ends(high) == poor_ends(low)
    # a step of 4 uS is too fast (16 uS/s or more over one 1/8 s span, or one sample at
    # 4 Hz); a ramp of 5 uS/s is not
    step = x.copy()
    step[round(30 * fs):] += 4.0
    assert poor_ends(step) == {e for e in ends if e - SEGMENT_S <= 35 and e > 25}
    ramp = x + np.clip(np.arange(len(x)) / fs - 30.0, 0, 0.4) * 5.0
    assert poor_ends(ramp) == set()
    nan = x.copy()
    nan[round(50 * fs)] = np.nan
    assert poor_ends(nan) == {e for e in ends if e - SEGMENT_S <= 55 and e > 45}
    rated = eda_quality(low, fs)
    k = list(ends).index(35.0)                      # 25-35 s: 1 s invalid + 5 s before it
    assert rated[k, 1] == pytest.approx(0.0, abs=1.5 / (SEGMENT_S * fs))
    k = list(ends).index(45.0)      # 35-45 s: invalid up to 36 s and the 1/8 s rise after it
    assert 0.85 <= rated[k, 1] <= 0.9
    assert rated[k, 2] == pytest.approx(x[round(35 * fs):round(45 * fs)].min())


@pytest.mark.parametrize("fs", [25, 100])
def test_ppg_simulated_is_good_and_noise_is_poor(fs):
    from beat_testing import simulate_ppg

    for noisy in (False, True):                      # drift, motion and mains
        q = ppg_quality(simulate_ppg(fs, 4, noisy=noisy), fs)
        assert q.shape[1] == len(PPG_CHANNELS)
        assert q[:, GOOD].mean() >= 0.95
        assert (q[:, PPG_CHANNELS.index("skewness")] > 0).mean() >= 0.95
    noise = np.random.default_rng(1).normal(size=120 * fs)
    q = ppg_quality(noise, fs)
    assert (q[:, GOOD] == 0).all()
    assert abs(np.median(q[:, PPG_CHANNELS.index("skewness")])) < 0.2


def test_stream_channels_are_what_the_processors_give():
    ecg, = raw_processors(StreamInfo("ecg", "ecg", "mV", 250.0))
    assert ecg.outputs[2].name == "ecg.quality" and ecg.outputs[2].channels == ECG_CHANNELS
    assert ecg.outputs[3].name == "ecg.rpeaks.quality" and ecg.outputs[3].kind == "beat_quality"
    ppg, = raw_processors(StreamInfo("ppg", "ppg", "a.u.", 100.0))
    assert ppg.outputs[2].name == "ppg.quality" and ppg.outputs[2].channels == PPG_CHANNELS
    assert ppg.outputs[3].name == "ppg.peaks.quality" and ppg.outputs[3].channels == ("template_r",)
    names = [p.outputs[0].name for p in raw_processors(StreamInfo("eda", "eda", "uS", 4.0))]
    assert names == ["eda.scl", "eda.quality"]


def test_a_stuck_second_and_a_half_is_poor_though_the_beats_go_on(simulated_ecg):
    x, fs = simulated_ecg
    y = x.copy()
    y[round(42 * fs):round(43.5 * fs)] = y[round(42 * fs)]     # too short to miss 3 s of beats
    q = ecg_quality(y, fs)
    ends = SEGMENT_S + HOP_S * np.arange(len(q))
    hit = (ends > 43.5) & (ends - SEGMENT_S < 42)
    assert (q[hit, GOOD] == 0).all() and (q[~hit, GOOD] == 1).all()
    assert (q[hit, ECG_CHANNELS.index("max_rr_s")] < 3).all()
    assert q[hit, ECG_CHANNELS.index("flat_s")] == pytest.approx(1.5, abs=0.01)


def test_every_beat_is_rated_once_and_noise_lowers_its_rating(simulated_ecg):
    """``ecg.rpeaks.quality``: one rating per beat of every complete 5 s hop, stamped at the
    beat, the same for any chunking; beats of clean segments correlate >= 0.9 with their
    segment's average beat, beats buried in 1 mV of noise (40-50 s) far less."""
    from biofeed.physio.ecg import RPeakProcessor
    from biofeed.physio.quality import EcgQuality

    x, fs = simulated_ecg
    y = x.copy()
    y[round(40 * fs):round(50 * fs)] += np.random.default_rng(1).normal(0, 1.0, round(10 * fs))
    info = StreamInfo("ecg", "ecg", "mV", fs)

    def run(size):
        proc = RPeakProcessor(info, quality=EcgQuality(fs))
        out = [c for i in range(0, len(y), size)
               for c in proc.update(Chunk(info, y[i:i + size], i / fs))]
        out += proc.flush()
        pick = lambda name: [c for c in out if c.info.name == name]      # noqa: E731
        beats = np.concatenate([c.times for c in pick("ecg.rpeaks")])
        rated = pick("ecg.rpeaks.quality")
        return beats, np.concatenate([c.times for c in rated]), \
            np.concatenate([c.values[:, 0] for c in rated])

    beats, at, r = run(len(y))
    last_hop = (int((len(y) / fs - SEGMENT_S) // HOP_S) + 1) * HOP_S
    np.testing.assert_array_equal(at, beats[beats < last_hop])
    for size in (37, 250, 1999):
        again = run(size)
        np.testing.assert_array_equal(again[1], at)
        np.testing.assert_array_equal(again[2], r)
    # a beat is rated in the segment starting at its hop: [35, 45) already holds noise
    clean, noisy = (at < 35) | (at >= 50), (at > 41) & (at < 49)
    assert np.nanmin(r[clean]) >= 0.9 and np.nanmedian(r[noisy]) < 0.66
