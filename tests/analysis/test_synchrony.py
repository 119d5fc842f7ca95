"""Physiological synchrony: windowed cross-correlation with Boker's peak picking, shuffled-segment
surrogates, a recording's two participants, and ``biofeed synchrony``."""
from __future__ import annotations

import asyncio
import re
import stat
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

import biofeed as bf
from biofeed.analysis.replay import derived_signals
from biofeed.analysis.synchrony import p_of, surrogate_peak_r, synchrony, windowed_xcorr
from biofeed.devices.spec import open_devices
from biofeed.protocol.runner import ProtocolRunner
from biofeed.protocol.schedule import DEMO
from biofeed.record.reader import Recording, Signal, events_frame
from biofeed.session import Session
from biofeed.stream import StreamInfo

FS = 4.0


def _smooth_noise(n: int, seed: int, width: int = 8) -> np.ndarray:
    """Gaussian noise smoothed over ``width`` samples (2 s at 4 Hz): a slowly varying series."""
    w = np.random.default_rng(seed).standard_normal(n + 2 * width)
    return np.convolve(w, np.ones(width) / width, mode="same")[width:width + n]


def _delayed_pair(delay_s: float, seconds: float = 600.0, noise: float = 0.1, seed: int = 1,
                  width: int = 8):
    """``x`` (:func:`_smooth_noise`) and ``y(t) = x(t - delay_s) + noise``, at :data:`FS`."""
    n, d, pad = int(seconds * FS), round(delay_s * FS), 40
    s = _smooth_noise(n + 2 * pad, seed, width)
    rng = np.random.default_rng(seed + 100)
    return s[pad:pad + n], s[pad - d:pad - d + n] + noise * rng.standard_normal(n)


# -- windowed cross-correlation and peak picking ------------------------------------------------

@pytest.mark.parametrize("delay_s", [2.0, -2.0, 0.0])
def test_a_delayed_copy_peaks_near_r_1_at_its_delay(delay_s):
    x, y = _delayed_pair(delay_s)
    w = windowed_xcorr(x, y, FS, window_s=30, step_s=5, max_lag_s=5)
    assert len(w) == (len(x) - 120 - 2 * 20) // 20 + 1 == 113
    np.testing.assert_allclose(w.start_s, 5.0 + 5.0 * np.arange(len(w)))   # first at max lag
    assert w.r.notna().all() and w.r.min() > 0.9 and w.r.max() <= 1.0
    assert np.abs(w.lag_s - delay_s).max() <= 1 / FS                # within one sample
    # y follows x by delay_s, so x follows y by -delay_s
    swapped = windowed_xcorr(y, x, FS, 30, 5, 5)
    assert np.abs(swapped.lag_s + delay_s).max() <= 1 / FS


def _boker_reference(x, y, width, step, lags, span):
    """The method written out plainly: Pearson r of every window and lag, then the search region
    grown from lag 0 until its maximum has stood for ``span`` more lag steps."""
    rows = []
    for s in range(lags, len(x) - width - lags + 1, step):
        r = np.array([np.corrcoef(x[s:s + width], y[s + k:s + k + width])[0, 1]
                      for k in range(-lags, lags + 1)])
        best, best_lag, stood = r[lags], 0, 0
        for d in range(1, lags + 1):
            k = d if r[lags + d] >= r[lags - d] else -d
            if r[lags + k] > best:
                best, best_lag, stood = r[lags + k], k, 0
            else:
                stood += 1
                if stood == span:
                    break
        ok = stood == span and np.isfinite(r).all()
        rows.append((s / FS, best if ok else np.nan, best_lag / FS if ok else np.nan))
    return pd.DataFrame(rows, columns=["start_s", "r", "lag_s"])


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("span_s", [0.25, 1.0, 2.0])
def test_r_and_peaks_equal_the_method_written_out(seed, span_s):
    x = _smooth_noise(800, seed)
    y = 0.5 * np.roll(x, 5) + _smooth_noise(800, seed + 50)     # partly coupled: peaks vary
    got = windowed_xcorr(x, y, FS, window_s=20, step_s=2.5, max_lag_s=4, peak_span_s=span_s)
    want = _boker_reference(x, y, 80, 10, 16, round(span_s * FS))
    assert want.r.notna().sum() > 50 and want.lag_s.nunique() > 8      # peaks at many lags
    pd.testing.assert_frame_equal(got, want, rtol=1e-12, atol=1e-12)


def test_the_local_peak_nearest_zero_lag_wins_over_a_larger_one_further_out():
    x = _smooth_noise(2400, 4, width=4)                  # correlation length ~1 s
    y = 0.6 * np.roll(x, 4) + np.roll(x, 16)             # echoes at +1 s (weaker) and +4 s
    near = windowed_xcorr(x, y, FS, 30, 5, max_lag_s=8, peak_span_s=1.0)
    assert (near.lag_s - 1.0).abs().max() <= 1 / FS and (near.lag_s == 1.0).mean() > 0.9
    far = windowed_xcorr(x, y, FS, 30, 5, max_lag_s=8, peak_span_s=3.5)
    assert (far.lag_s == 4.0).all() and (far.r > near.r).all()


def test_no_peak_when_r_still_rises_at_the_edge_of_the_lags():
    # over whole periods of a sine, r(lag) is the cosine of the phase difference: it rises all
    # the way to the delay, 4.5 s, beyond max_lag_s - peak_span_s = 4 s
    t = np.arange(0, 300, 1 / FS)
    x, y = np.sin(2 * np.pi * t / 40), np.sin(2 * np.pi * (t - 4.5) / 40)
    w = windowed_xcorr(x, y, FS, 40, 5, max_lag_s=5, peak_span_s=1.0)
    assert len(w) > 40 and w.r.isna().all() and w.lag_s.isna().all()
    w = windowed_xcorr(x, y, FS, 40, 5, max_lag_s=6, peak_span_s=1.0)
    assert w.lag_s.eq(4.5).all() and np.allclose(w.r, 1.0)


def test_a_constant_stretch_gives_no_peak_in_the_windows_that_see_it():
    x, y = _delayed_pair(1.0, seconds=200)
    x[400:560] = 3.0                                     # 100-140 s flat (a dropped-out sensor)
    w = windowed_xcorr(x, y, FS, 30, 5, 5)
    flat = (w.start_s >= 100) & (w.start_s + 30 <= 140)  # windows holding only the flat part
    assert flat.sum() == 3 and w.r[flat].isna().all()
    assert w.r[w.start_s + 30 <= 100].gt(0.9).all()


@pytest.mark.parametrize("kwargs, message", [
    ({"n": 150}, r"window_s \+ 2 max_lag_s = 40 s is longer than the data \(37.5 s at 4 Hz\)"),
    ({"window_s": 0.5}, r"window_s = 0.5 s is 2 sample\(s\) at 4 Hz; at least 3 needed"),
    ({"step_s": 0.1}, r"step_s = 0.1 s is 0 sample\(s\)"),
    ({"max_lag_s": 0.0}, r"max_lag_s = 0.0 s is 0 sample\(s\)"),
    ({"peak_span_s": 6.0}, r"peak_span_s = 6.0 s is longer than max_lag_s = 5 s"),
    ({"y_n": 399}, r"same length, got \(400,\) and \(399,\)"),
])
def test_impossible_settings_are_refused_with_the_reason(kwargs, message):
    n = kwargs.get("n", 400)
    x, y = np.zeros(n), np.zeros(kwargs.get("y_n", n))
    args = {"window_s": 30, "step_s": 5, "max_lag_s": 5} | {
        k: v for k, v in kwargs.items() if k not in ("n", "y_n")}
    with pytest.raises(ValueError, match=message):
        windowed_xcorr(x, y, FS, **args)


# -- surrogates ---------------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["shift", "shuffle"])
def test_a_coupled_pair_beats_every_surrogate(method):
    x, y = _delayed_pair(2.0, noise=0.5)
    test = surrogate_peak_r(x, y, FS, 30, 5, 5, n_surrogates=99, seed=0, method=method)
    assert test.real_r > 0.5 and test.surrogate_r.shape == (99,)
    real = windowed_xcorr(x, y, FS, 30, 5, 5).r.to_numpy()
    assert test.surrogate_windows.shape == (99, real.size)
    assert p_of(real, test.surrogate_windows) == (test.surrogate_mean, test.p)
    half = np.arange(real.size) < real.size // 2             # a part of the windows
    assert p_of(real[half], test.surrogate_windows[:, half])[1] == 1 / 100
    assert test.surrogate_mean < 0.4 and test.real_r > test.surrogate_mean + 5 * test.surrogate_sd
    assert test.p == 1 / 100                             # the smallest p 99 surrogates can give
    again = surrogate_peak_r(x, y, FS, 30, 5, 5, n_surrogates=99, seed=0, method=method)
    np.testing.assert_array_equal(again.surrogate_r, test.surrogate_r)
    assert not np.array_equal(surrogate_peak_r(x, y, FS, 30, 5, 5, 99, seed=1,
                                               method=method).surrogate_r, test.surrogate_r)


@pytest.mark.parametrize("method", ["shift", "shuffle"])
def test_independent_series_sit_at_the_chance_level(method):
    ps = []
    for seed in range(7, 13):
        x, y = _smooth_noise(2400, seed), _smooth_noise(2400, seed + 1000)
        test = surrogate_peak_r(x, y, FS, 30, 5, 5, n_surrogates=99, seed=0, method=method)
        # peak picking makes chance r positive; the surrogates show how far
        assert 0.1 < test.surrogate_mean < 0.45 and test.surrogate_sd > 0
        assert abs(test.real_r - test.surrogate_mean) < 3 * test.surrogate_sd
        ps.append(test.p)
    assert sum(p < 0.05 for p in ps) <= 1, ps            # chance: about 1 in 20


# -- a recording's two participants -------------------------------------------------------------

DELAY_S, SPAN_S = 2.0, 300.0


@pytest.fixture(scope="module")
def coupled_recording() -> Recording:
    """Participant ``b``'s heart rate and skin conductance follow ``a``'s by 2 s: RR intervals
    (raw, from a heart-rate strap) and EDA at 32 Hz, two 150 s phases."""
    t = np.arange(0.0, SPAN_S + 10, 0.05)
    hr = 70 + 25 * _smooth_noise(t.size, 3, width=60)                   # bpm
    eda = 5 + 2 * _smooth_noise(t.size, 4, width=100)                   # uS
    signals = []
    for who, shift in (("a", 0.0), ("b", DELAY_S)):
        beats, rr = [1.0], []
        while beats[-1] < SPAN_S:
            rr.append(60.0 / np.interp(beats[-1] - shift, t, hr))
            beats.append(beats[-1] + rr[-1])
        signals.append(Signal(np.array(rr) * 1000, np.array(beats[1:]), 0.0, "ms",
                              StreamInfo(f"{who}.rr", "rr", "ms", 0.0, ("rr",), f"{who}@strap")))
        te = np.arange(0.0, SPAN_S, 1 / 32)
        signals.append(Signal(np.interp(te - shift, t, eda), te, 32.0, "uS",
                              StreamInfo(f"{who}.eda", "eda", "uS", 32.0, ("eda",), f"{who}@gsr")))
    events = events_frame([(0.0, 150.0, "rest", "phase", {"phase_kind": "baseline"}, 1),
                           (150.0, 150.0, "talk", "phase", {"phase_kind": "prompt"}, 2)])
    return Recording.from_signals(signals, events, path="coupled")


@pytest.mark.parametrize("signal", ["hr", "scl"])
def test_who_follows_whom_in_a_recording(coupled_recording, signal):
    res = synchrony(coupled_recording, "a", "b", signal, n_surrogates=50)
    w = res.windows
    assert (res.a, res.b, res.signal) == ("a", "b", signal)
    assert w.r.min() > 0.8 and np.abs(w.lag_s - DELAY_S).max() <= 1 / FS
    assert w.start_s.iloc[0] == pytest.approx(8.0 + (1.0 + 60 / 70 if signal == "hr" else 0.0), abs=0.5)
    s = res.summary.iloc[0]
    assert s.windows == s.peaks == len(w) and s.p == 1 / 51
    assert s.mean_r == pytest.approx(w.r.mean()) and s.mean_lag_s == pytest.approx(w.lag_s.mean())
    assert res.phases.phase.tolist() == ["rest", "talk"]
    assert res.phases.windows.tolist() == [(w.start_s < 150).sum(), (w.start_s >= 150).sum()]
    assert res.phases.mean_r.iloc[1] == pytest.approx(w.r[w.start_s >= 150].mean())
    # each phase against the same windows of the surrogates
    assert res.phases.p.tolist() == [1 / 51, 1 / 51]
    assert (res.phases.surrogate_mean_r < res.phases.mean_r - 0.2).all()
    assert res.phases.median_lag_s.tolist() == [DELAY_S, DELAY_S]
    back = synchrony(coupled_recording, "b", "a", signal, n_surrogates=1).windows
    assert np.abs(back.lag_s + DELAY_S).max() <= 1 / FS


def test_without_an_scl_stream_the_raw_eda_is_used(coupled_recording):
    nn = derived_signals(coupled_recording)["a.rr.nn"]          # derived streams, but no SCL
    rec = Recording.from_signals([coupled_recording.signals["a.eda"],
                                  coupled_recording.signals["b.eda"], nn],
                                 coupled_recording.events, path="no-scl")
    assert [s.info.kind for s in derived_signals(rec).values()] == ["nn"]          # no replay
    w = synchrony(rec, "a", "b", "scl", n_surrogates=1).windows
    assert w.start_s.iloc[0] == 8.0 and np.abs(w.lag_s - DELAY_S).max() <= 1 / FS


def test_missing_participants_and_streams_are_named(coupled_recording):
    with pytest.raises(ValueError, match=r"coupled: no participant 'c'; the recording has \['a', 'b'\]"):
        synchrony(coupled_recording, "a", "c")
    with pytest.raises(ValueError, match="two different participants"):
        synchrony(coupled_recording, "a", "a")
    with pytest.raises(ValueError, match="signal must be one of"):
        synchrony(coupled_recording, "a", "b", "rsa")
    eda_only = Recording.from_signals([coupled_recording.signals[n] for n in ("a.eda", "b.eda")],
                                      coupled_recording.events, path="eda-only")
    with pytest.raises(ValueError, match=r"eda-only: participant 'a' has no NN stream with 2 or "
                                         r"more samples \(participants: \['a', 'b'\]\)"):
        synchrony(eda_only, "a", "b", "hr")
    with pytest.raises(ValueError, match=r"coupled: a and b: window_s \+ 2 max_lag_s = 416 s is "
                                         r"longer than the data"):
        synchrony(coupled_recording, "a", "b", window_s=400)


# -- a simulated dyad and the command line ------------------------------------------------------

@pytest.fixture(scope="module")
def dyad(tmp_path_factory):
    """The DEMO protocol (baseline, stressor, recovery, paced breathing; 60 s each) at 50x for
    two simulated participants with their own seeds."""
    runner = ProtocolRunner(DEMO)
    devices = open_devices(["parent@simulated:seed=1", "child@simulated:seed=2"], runner.state_at)
    session = Session(devices, runner, out_dir=tmp_path_factory.mktemp("dyad"), speed=50.0,
                      duration=240.0)
    asyncio.run(session.run())
    return session.path


@pytest.mark.slow
@pytest.mark.parametrize("signal", ["hr", "scl"])
def test_a_simulated_dyad(dyad, signal):
    rec = bf.read(dyad)
    res = synchrony(rec, "parent", "child", signal, window_s=30, step_s=5, max_lag_s=5,
                    n_surrogates=100)
    w = res.windows
    assert 35 <= len(w) <= 41 and np.allclose(np.diff(w.start_s), 5.0)
    assert w.start_s.iloc[0] >= 5.0 and w.start_s.iloc[-1] + 30 + 5 <= 240
    peaks = w.dropna()
    # SCL is a slow level, monotone over many 30 s windows (both fall through recovery here),
    # where r(lag) rises to an end of the lag range and has no peak (NaN): fewer peaks than HR
    assert len(peaks) >= len(w) / (2 if signal == "hr" else 3)
    assert res.summary.peaks.iloc[0] == len(peaks)
    assert peaks.r.between(-1, 1).all() and peaks.lag_s.abs().max() <= 5 - 1     # max lag - span
    phases = rec.events[rec.events.kind == "phase"]
    assert res.phases.phase.tolist() == phases.label.tolist()
    assert res.phases.onset_s.tolist() == phases.onset.tolist()
    assert res.phases.windows.sum() == len(w)
    if signal == "hr":
        # Both hearts follow the same protocol (stress) and the same pacer: more than chance.
        assert res.summary.p.iloc[0] < 0.05
        # Breathing with one pacer puts both RSA oscillations in phase: peaks at lag ~0.
        assert peaks[peaks.start_s >= 180].lag_s.abs().max() <= 0.5


@pytest.mark.slow
def test_the_command_prints_the_summary_and_writes_a_private_csv(dyad, tmp_path):
    csv = tmp_path / "windows.csv"
    cmd = [sys.executable, "-m", "biofeed", "synchrony", str(dyad), "--pair", "parent,child",
           "--window-s", "20", "--surrogates", "20", "--csv", str(csv)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert ("HR synchrony of parent and child (window 20 s, step 5 s, max lag 8 s, 20 surrogates, "
            "low-pass 0.15 Hz)") in " ".join(out.split())
    assert re.search(r"│\s+\d+ │\s+\d+ │\s+0\.\d{3} │", out)                  # windows, peaks, mean r
    for phase in ("baseline", "stressor", "recovery", "paced_breathing"):
        assert re.search(rf"│ {phase}\s+│", out)
    assert stat.S_IMODE(csv.stat().st_mode) == 0o600
    written = pd.read_csv(csv)
    want = synchrony(bf.read(dyad), "parent", "child", window_s=20, n_surrogates=1).windows
    pd.testing.assert_frame_equal(written, want, rtol=1e-12)
    before = csv.read_bytes()
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and f"{csv}: exists already" in " ".join(again.stdout.split())
    assert csv.read_bytes() == before
    bad = subprocess.run(cmd[:5] + ["--pair", "parent,nobody"], capture_output=True, text=True,
                         timeout=120)
    assert bad.returncode == 2
    assert "no participant 'nobody'; the recording has ['parent', 'child']" in " ".join(bad.stdout.split())


def test_windows_over_a_drop_out_have_no_peak(coupled_recording):
    """b's heart signal lost from 100 to 130 s: every window whose data reach into the gap
    has no peak; windows before it are as without the gap."""
    rr = coupled_recording.signals["b.rr"]
    keep = (rr.times < 100) | (rr.times > 130)
    cut = Signal(rr.values[keep], rr.times[keep], 0.0, "ms", rr.info)
    rec = Recording.from_signals([coupled_recording.signals["a.rr"], cut],
                                 coupled_recording.events, path="gap")
    gapped = synchrony(rec, "a", "b", n_surrogates=5).windows
    whole = synchrony(coupled_recording, "a", "b", n_surrogates=5).windows
    pd.testing.assert_series_equal(gapped.start_s, whole.start_s)
    reach = gapped.start_s + 30 + 8                      # the last y sample a window uses
    into = (reach > 100 - 1.5) & (gapped.start_s - 8 < 130)   # the beat before the gap ~1 s
    assert gapped.r[into].isna().all() and into.sum() >= 6
    before = reach < 99
    pd.testing.assert_frame_equal(gapped[before], whole[before])
    assert gapped.r[~into].notna().all()                 # after the gap: peaks again
