"""PPG pulse detector: one pulse per heart beat at 40-200 bpm in either polarity (simulated
PPG, PPG built on the real beats of the NeuroKit recordings), low perfusion, a deep dicrotic
notch, the systolic peak's position, polarity, look-ahead, chunking of hard signals, a real
BVP recording (chunk-size invariance on the shared fixture and the processor's streams:
test_beats.py)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import signal as sps

from beat_testing import match, run_chunked, simulate_ppg
from biofeed.physio.ppg import PulseDetector, PulseProcessor, ppg_peaks, vote_polarity
from biofeed.physio.scoring import pulse_counts
from biofeed.sim.waveforms import ppg_from_beats
from biofeed.stream import StreamInfo

nk = pytest.importorskip("neurokit2")

#: The acceptance figure: share of the heart's beat-to-beat intervals holding exactly one pulse.
ONE_PULSE = 0.99


def one_pulse_share(pulses: np.ndarray, beats: np.ndarray) -> float:
    """Share of the intervals between consecutive ``beats`` holding exactly one pulse."""
    return float(np.mean(pulse_counts(pulses, beats) == 1))


def beat_times(bpm: float, duration: float, seed: int) -> np.ndarray:
    """Heart beats at ``bpm`` with respiratory sinus arrhythmia (3 %, 0.25 Hz) and 2 % random
    beat-to-beat variation, seconds; from 2 s before the start, so the PPG starts mid-stream
    (as a recording does), with the earlier pulses' tails."""
    rng = np.random.default_rng(seed)
    t, out = -2.0, []
    while t < duration - 1.0:
        out.append(t)
        t += 60 / bpm * (1 + 0.03 * np.sin(2 * np.pi * 0.25 * t) + 0.02 * rng.standard_normal())
    return np.asarray(out)


def synthetic(bpm: float, fs: float, seed: int = 0, duration: float = 60.0, **options):
    """``ppg_from_beats`` PPG (motion 0.1, noise 0.02 unless given) and its beats (samples)."""
    beats = beat_times(bpm, duration, seed)
    x = ppg_from_beats(beats, fs, duration, seed=seed, **{"motion": 0.1, "noise": 0.02, **options})
    return x, samples(beats, fs)


def samples(beats: np.ndarray, fs: float) -> np.ndarray:
    """Beat times (s) from the start on, as sample indices."""
    return np.round(beats[beats >= 0] * fs).astype(np.int64)


def known_peaks(fs: int, seed: int, heart_rate: float = 70.0) -> np.ndarray:
    """Systolic peaks of the noise-free simulation (its prominent maxima), away from the edges."""
    clean = simulate_ppg(fs, seed, noisy=False, heart_rate=heart_rate)
    peaks, _ = sps.find_peaks(clean, distance=max(1, round(0.15 * fs)),
                              prominence=0.3 * np.ptp(clean))
    return interior(peaks, fs, len(clean))


def interior(p: np.ndarray, fs: int, n: int) -> np.ndarray:
    return p[(p >= fs) & (p < n - fs)]


@pytest.mark.parametrize("sign", [1, -1], ids=["peaks-up", "inverted"])
@pytest.mark.parametrize("fs", [25, 100, 1000])
@pytest.mark.parametrize("seed, heart_rate", [(0, 55), (1, 70), (2, 100)])
@pytest.mark.parametrize("noisy", [False, True], ids=["noise-free", "drift-motion-mains"])
def test_known_peaks(fs, seed, heart_rate, noisy, sign):
    """Every systolic peak found and none extra, either way up. Noise-free: each within
    max(1 sample, 5 ms). With drift, motion and 50 Hz mains: each within +-50 ms, median error
    <= max(1 sample, 5 ms)."""
    truth = known_peaks(fs, seed, heart_rate)
    x = sign * simulate_ppg(fs, seed, noisy=noisy, heart_rate=heart_rate)
    found = interior(ppg_peaks(x, fs), fs, len(x))
    close = max(1, round(0.005 * fs))
    assert match(found, truth, round(0.05 * fs) if noisy else close) == (len(truth), 0, 0)
    error = np.array([np.abs(found - t).min() for t in truth])
    assert np.median(error) <= close


@pytest.mark.parametrize("sign", [1, -1], ids=["peaks-up", "inverted"])
@pytest.mark.parametrize("bpm, fs", [(40, 100), (80, 25), (120, 1000), (160, 100), (200, 25),
                                     (200, 100)])
def test_one_pulse_per_beat_neurokit_simulation(bpm, fs, sign):
    """``neurokit2.ppg_simulate`` with motion and drift at 40-200 bpm, 25-1000 Hz: >= 99 % of
    the beat intervals hold exactly one pulse."""
    common = dict(duration=120, sampling_rate=fs, heart_rate=bpm, random_state=bpm)
    x = nk.ppg_simulate(motion_amplitude=0.1, drift=0.5, powerline_amplitude=0.0, **common)
    clean = nk.ppg_simulate(motion_amplitude=0.0, drift=0.0, powerline_amplitude=0.0, **common)
    beats, _ = sps.find_peaks(clean, distance=max(1, round(0.15 * fs)),
                              prominence=0.3 * np.ptp(clean))
    assert len(beats) > bpm
    assert one_pulse_share(ppg_peaks(sign * x, fs), beats) >= ONE_PULSE


@pytest.mark.parametrize("sign", [1, -1], ids=["peaks-up", "inverted"])
@pytest.mark.parametrize("bpm, fs", [(40, 25), (80, 1000), (120, 100), (160, 25), (200, 100),
                                     (200, 1000)])
@pytest.mark.parametrize("notch", [0.5, 1.0], ids=["notch", "deep-notch"])
def test_one_pulse_per_beat_with_dicrotic_notch(bpm, fs, sign, notch):
    """Two-wave pulses with heart rate variability, motion and noise; a deep notch has a
    diastolic wave 0.6 x the systolic one rising out of it: never counted as a second pulse."""
    x, beats = synthetic(bpm, fs, seed=bpm + fs, notch=notch, diastolic=0.6 if notch == 1 else 0.4)
    assert one_pulse_share(ppg_peaks(sign * x, fs), beats) >= ONE_PULSE


@pytest.mark.parametrize("sign", [1, -1], ids=["peaks-up", "inverted"])
@pytest.mark.parametrize("bpm", [45, 120, 190])
def test_low_and_changing_perfusion(bpm, sign):
    """Pulses of 1e-4 units (any scale) whose amplitude swings 4-fold over 20 s and halves at
    once after 80 s, with motion (SD 0.02) and noise (0.005) scaled to the full pulse, so up
    to 16 % and 4 % of the weakest: >= 99 % one pulse per beat."""
    fs = 100
    beats = beat_times(bpm, 120.0, seed=bpm)
    gain = 0.625 + 0.375 * np.cos(2 * np.pi * beats / 20.0)          # 0.25 ... 1.0
    gain[beats > 80] /= 2.0
    x = 1e-4 * ppg_from_beats(beats, fs, 120.0, amplitude=gain, motion=0.02, noise=0.005, seed=3)
    assert one_pulse_share(ppg_peaks(sign * x, fs), samples(beats, fs)) >= ONE_PULSE


def test_heart_rate_steps_from_40_to_200_bpm():
    """A heart rate that climbs from 40 to 200 bpm and back within 3 minutes."""
    fs, t, beats = 100, -2.0, []
    while t < 179:
        beats.append(t)
        t += 60 / (40 + 160 * np.sin(np.pi * t / 180) ** 2)
    beats = np.asarray(beats)
    x = ppg_from_beats(beats, fs, 180.0, motion=0.1, noise=0.02, seed=5)
    for sign in (1, -1):
        assert one_pulse_share(ppg_peaks(sign * x, fs), samples(beats, fs)) >= ONE_PULSE


#: The NeuroKit recordings whose ECG R-peaks time the pulses: file, ECG rate (Hz).
RECORDINGS = [("bio_resting_8min_100hz.csv", 100), ("bio_eventrelated_100hz.csv", 100),
              ("ecg_1000hz.csv", 1000)]


@pytest.fixture(scope="module", params=RECORDINGS, ids=lambda r: r[0].split(".")[0])
def real_beats(request, shared_data):
    """R-peak times (s) of a NeuroKit recording's ECG, by neurokit2 (independent of
    biofeed's ECG detector)."""
    pd = pytest.importorskip("pandas")
    name, fs = request.param
    ecg = pd.read_csv(shared_data / "neurokit" / name)["ECG"].to_numpy()
    _, info = nk.ecg_peaks(nk.ecg_clean(ecg, sampling_rate=fs), sampling_rate=fs)
    beats = np.asarray(info["ECG_R_Peaks"]) / fs
    assert len(beats) > 40 and np.all(np.diff(beats) > 0.5)
    return beats


@pytest.mark.parametrize("sign", [1, -1], ids=["peaks-up", "inverted"])
@pytest.mark.parametrize("fs, speed, options", [
    (100, 1.0, {}), (25, 1.0, {}), (1000, 1.0, {}), (100, 1.0, dict(notch=1.0, diastolic=0.6)),
    (100, 2.5, {}), (100, 2.5, dict(notch=1.0, diastolic=0.6))],
    ids=["100Hz", "25Hz", "1000Hz", "deep-notch", "x2.5", "x2.5-deep-notch"])
def test_one_pulse_per_real_beat(real_beats, fs, speed, options, sign):
    """PPG on real hearts' beats (0.25 s transit delay, amplitude and respiratory variation,
    motion, noise), also played 2.5 x faster (150-190 bpm with the real variability):
    >= 99 % of the ECG RR intervals hold exactly one pulse."""
    beats = real_beats / speed
    x = ppg_from_beats(beats, fs, beats[-1] + 1.0, motion=0.1, noise=0.02, seed=fs, **options)
    assert one_pulse_share(ppg_peaks(sign * x, fs), np.round(beats * fs).astype(int)) \
        >= ONE_PULSE


def test_agrees_with_neurokit2_elgendi():
    """Same beats as ``nk.ppg_findpeaks(nk.ppg_clean(x))`` (Elgendi), within +-2 samples at 100 Hz
    (NeuroKit2 locates the peak on the zero-phase 0.5-8 Hz band-passed signal, we on the PPG)."""
    fs = 100
    x = simulate_ppg(fs, 3, noisy=True)
    theirs = nk.ppg_findpeaks(nk.ppg_clean(x, sampling_rate=fs), sampling_rate=fs)["PPG_Peaks"]
    ours, theirs = interior(ppg_peaks(x, fs), fs, len(x)), interior(np.asarray(theirs), fs, len(x))
    tp, fn, fp = match(ours, theirs, 2)
    assert tp / max(len(ours), len(theirs)) >= 0.99


@pytest.mark.parametrize("fs", [25, 1000])
def test_hard_signals_do_not_depend_on_chunking(fs):
    """200 bpm with a deep notch and changing amplitude, inverted: the same pulses for any
    chunking (test_beats.py checks many chunkings on a 100 Hz signal)."""
    x, _ = synthetic(200, fs, seed=7, duration=30.0, notch=1.0, diastolic=0.6,
                     resp_amplitude=0.4)
    whole = ppg_peaks(-x, fs)
    assert len(whole) > 90
    for sizes in ([1], [7, 300, 1], [fs // 3, 2 * fs + 1]):
        np.testing.assert_array_equal(run_chunked(PulseDetector(fs), -x, sizes), whole)


def test_polarity_is_decided_from_the_signal():
    """The detector settles on peaks down for an inverted PPG and reports the same peaks as
    for the upright one; the polarity flips only past the skewness margin."""
    x, _ = synthetic(70, 100, seed=1)
    up, down = PulseDetector(100), PulseDetector(100)
    p_up, p_down = run_chunked(up, x, [50]), run_chunked(down, -x, [50])
    assert (up.polarity, down.polarity) == (1, -1)
    tp, fn, fp = match(p_down, p_up, 1)
    assert tp >= len(p_up) - 2 and fp <= 2
    assert vote_polarity([-1], 1) == -1 and vote_polarity([1, -1], 1) == 1
    assert vote_polarity([1, 1, 1, -1, -1, -1, -1, -1], 1) == 1
    assert vote_polarity([1, -1, -1, -1, -1, -1, -1, -1], 1) == -1
    assert vote_polarity([1, 1, 1, 1, 0, -1, 1, 1], -1) == 1


@pytest.mark.parametrize("sign", [1, -1], ids=["peaks-up", "inverted"])
@pytest.mark.parametrize("bpm", [45, 120, 180])
def test_motion_artefacts_do_not_last(bpm, sign):
    """2 s bursts of 0.5-3 Hz motion at 3 x the pulse amplitude every 20 s: beats inside a
    burst may be lost, but the polarity holds and >= 99 % of the intervals more than 1 s away
    from a burst hold exactly one pulse."""
    fs = 100
    x, beats = synthetic(bpm, fs, seed=4, duration=120.0)
    rng = np.random.default_rng(1)
    sos = sps.butter(2, [0.5, 3.0], "bandpass", fs=fs, output="sos")
    starts = np.arange(10, 120, 20) * fs
    for a in starts:
        burst = sps.sosfilt(sos, rng.standard_normal(2 * fs))
        x[a:a + 2 * fs] += 3 * burst / burst.std() * np.hanning(2 * fs)
    det = PulseDetector(fs)
    pulses, polarity = [], []
    for i in range(0, len(x), fs // 2):
        pulses.append(det.update(sign * x[i:i + fs // 2]))
        polarity.append(det.polarity)
    pulses = np.concatenate(pulses + [det.flush()])
    assert set(polarity[4:]) == {sign}
    away = [k for k in range(len(beats) - 1)
            if np.all((beats[k + 1] < starts - fs) | (beats[k] > starts + 3 * fs))]
    assert len(away) > 0.6 * len(beats)
    assert np.mean(pulse_counts(pulses, beats)[away] == 1) >= ONE_PULSE


def test_real_bvp_is_plausible(shared_data):
    """BITalino BVP (1000 Hz, about 27 s, no reference): a resting pulse rate, regular pulse
    intervals, the same pulses found either way up, and the pulses neurokit2 finds."""
    x = np.loadtxt(shared_data / "opensignals" / "bvp_sample.txt", comments="#", usecols=2)
    fs = 1000
    up, down = ppg_peaks(x, fs), ppg_peaks(-x, fs)
    iv = np.diff(up) / fs
    assert 50 <= 60 / np.median(iv) <= 90
    assert np.mean(np.abs(iv / np.median(iv) - 1) < 0.2) >= 0.9
    tp, fn, fp = match(down, up, round(0.05 * fs))
    assert fn == 0 and fp == 0
    _, info = nk.ppg_peaks(nk.ppg_clean(x, sampling_rate=fs), sampling_rate=fs)
    tp, fn, fp = match(up, np.asarray(info["PPG_Peaks"]), round(0.05 * fs))
    assert fn == 0 and fp == 0


@pytest.mark.parametrize("fs", [25, 100])
def test_peaks_are_reported_within_the_lookahead(fs):
    x, _ = synthetic(120, fs, seed=2, duration=30.0)
    det = PulseDetector(fs)
    assert det.lookahead <= 0.75
    late = [i + 1 - p for i in range(len(x)) for p in det.update(x[i:i + 1])]
    assert len(late) > 50 and max(late) / fs <= det.lookahead


def test_flat_and_short_signals():
    assert len(ppg_peaks(np.zeros(3000), 100)) == 0
    assert len(ppg_peaks(np.zeros(0), 100)) == 0
    assert len(ppg_peaks(np.full(3000, 7.0), 100)) == 0
    with pytest.raises(ValueError):
        PulseDetector(10)


def test_processor_rejects_wrong_streams():
    with pytest.raises(ValueError):
        PulseProcessor(StreamInfo("ecg", "ecg", "mV", 250.0))
