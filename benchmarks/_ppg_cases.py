"""PPG part of bench_beats.py: pulses against known heart beats, biofeed and neurokit2.

Score: the share of the reference beat-to-beat intervals that hold exactly one detected pulse
(:func:`one_pulse_share`). Each signal is scored as generated and inverted.

Cases (:func:`ppg_cases`):

- ``neurokit2.ppg_simulate`` at 40, 80, 120, 160 and 200 bpm (100 Hz, 2 min, motion and
  drift); the reference beats are the systolic peaks of a noise-free copy (same seed: the
  simulator draws its noise from separate generators).
- "NeuroKit recordings": PPG built by :func:`biofeed.sim.waveforms.ppg_from_beats` on the
  R-peaks of the ECG of ``neurokit/bio_resting_8min_100hz.csv``, ``bio_eventrelated_100hz.csv``
  (100 Hz) and ``ecg_1000hz.csv`` (1000 Hz), found by neurokit2 (``ecg_peaks(ecg_clean(x))``,
  independent of biofeed), so the beats have a real heart's timing; pulse transit delay
  0.25 s, beat-to-beat and respiratory amplitude variation, motion and noise. Also the resting
  beats played 2.5 x faster (real variability at about 150-190 bpm) and with a deep dicrotic
  notch.
- Low perfusion: ``ppg_from_beats`` on beats at 45, 120 and 190 bpm (3 % respiratory and 2 %
  random variation, from 2 s before the start), pulse amplitude swinging 4-fold over 20 s and
  halved after 80 s, at 1e-4 units, motion SD 0.02 and noise 0.005 of the full pulse (as
  ``tests/physio/test_ppg.py``); and once with 2.5 x the motion and twice the noise, beyond
  what the tests ask.
- Motion bursts: 2 min at 60 and 180 bpm with a 2 s burst of 0.5-3 Hz motion at 3 x the pulse
  amplitude every 20 s (pulses inside a burst are mostly lost by any detector; the score
  shows how fast each recovers).

:func:`bvp_plausibility` checks the real BITalino BVP (``opensignals/bvp_sample.txt``, no
reference): pulse rate, interval regularity, and the same pulses either way up.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from biofeed.physio.ppg import ppg_peaks
from biofeed.physio.scoring import pulse_counts
from biofeed.sim.waveforms import ppg_from_beats

#: Heart rates of the simulated cases, bpm.
SIMULATED_BPM = (40, 80, 120, 160, 200)


def one_pulse_share(pulses: np.ndarray, beats: np.ndarray) -> tuple[float, int]:
    """Share of the intervals between consecutive ``beats`` that hold exactly one pulse
    (:func:`biofeed.physio.scoring.pulse_counts`), and the number of intervals."""
    counts = pulse_counts(pulses, beats)
    return (float(np.mean(counts == 1)) if len(counts) >= 2 else 0.0), len(counts)


def simulated(bpm: float, fs: int = 100, seed: int = 0, duration: int = 120):
    """``neurokit2.ppg_simulate`` with motion and drift, and its systolic peaks (samples)."""
    import neurokit2 as nk

    common = dict(duration=duration, sampling_rate=fs, heart_rate=bpm, random_state=seed)
    x = nk.ppg_simulate(motion_amplitude=0.1, drift=0.5, powerline_amplitude=0.0, **common)
    clean = nk.ppg_simulate(motion_amplitude=0.0, drift=0.0, powerline_amplitude=0.0, **common)
    return x, clean_peaks(clean, fs)


def clean_peaks(clean: np.ndarray, fs: float) -> np.ndarray:
    """Systolic peaks of a noise-free simulated PPG: its prominent maxima."""
    from scipy import signal as sps

    peaks, _ = sps.find_peaks(clean, distance=max(1, round(0.15 * fs)),
                              prominence=0.3 * np.ptp(clean))
    return peaks


def ecg_beats(data: Path, name: str, fs: int) -> np.ndarray:
    """R-peak times (s) of the ECG column of a NeuroKit2 example recording (neurokit2)."""
    import neurokit2 as nk
    import pandas as pd

    ecg = pd.read_csv(data / "neurokit" / name)["ECG"].to_numpy()
    _, info = nk.ecg_peaks(nk.ecg_clean(ecg, sampling_rate=fs), sampling_rate=fs)
    return np.asarray(info["ECG_R_Peaks"]) / fs


#: NeuroKit recordings: (label, file, ECG rate Hz, PPG rate Hz, time factor, options of
#: ``ppg_from_beats``).
RECORDINGS = (
    ("resting 8 min", "bio_resting_8min_100hz.csv", 100, 100, 1.0, {}),
    ("resting, deep notch", "bio_resting_8min_100hz.csv", 100, 100, 1.0,
     dict(notch=1.0, diastolic=0.6)),
    ("resting x2.5 (150-190 bpm)", "bio_resting_8min_100hz.csv", 100, 100, 0.4, {}),
    ("resting x2.5, deep notch", "bio_resting_8min_100hz.csv", 100, 100, 0.4,
     dict(notch=1.0, diastolic=0.6)),
    ("event-related", "bio_eventrelated_100hz.csv", 100, 100, 1.0, {}),
    ("ecg_1000hz (PPG 1000 Hz)", "ecg_1000hz.csv", 1000, 1000, 1.0, {}),
    ("ecg_1000hz (PPG 25 Hz)", "ecg_1000hz.csv", 1000, 25, 1.0, {}),
)


def recording_ppg(data: Path, file: str, ecg_fs: int, fs: int, factor: float = 1.0,
                  seed: int = 0, **options) -> tuple[np.ndarray, np.ndarray]:
    """PPG at ``fs`` Hz on the R-peaks of a NeuroKit recording, their times multiplied by
    ``factor``, and those beats as sample indices. ``options`` go to ``ppg_from_beats``
    (default here: motion 0.1, noise 0.02 pulse amplitudes)."""
    beats = ecg_beats(data, file, ecg_fs) * factor
    x = ppg_from_beats(beats, fs, beats[-1] + 1.0, seed=seed,
                       **{"motion": 0.1, "noise": 0.02, **options})
    return x, np.round(beats * fs).astype(np.int64)


def low_perfusion(bpm: float, motion: float = 0.02, noise: float = 0.005, fs: int = 100,
                  seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """2 min of weak PPG (1e-4 units) whose amplitude swings 4-fold over 20 s and halves after
    80 s, and its beats (samples)."""
    rng = np.random.default_rng(int(bpm))
    t, beats = -2.0, []
    while t < 119.0:
        beats.append(t)
        t += 60 / bpm * (1 + 0.03 * np.sin(2 * np.pi * 0.25 * t) + 0.02 * rng.standard_normal())
    beats = np.asarray(beats)
    gain = 0.625 + 0.375 * np.cos(2 * np.pi * beats / 20.0)
    gain[beats > 80] /= 2.0
    x = 1e-4 * ppg_from_beats(beats, fs, 120.0, amplitude=gain, motion=motion, noise=noise,
                              seed=seed)
    return x, np.round(beats[beats >= 0] * fs).astype(np.int64)


def motion_bursts(bpm: float, fs: int = 100, seed: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """2 min of PPG at ``bpm`` with a 2 s motion burst (0.5-3 Hz, 3 x the pulse amplitude)
    every 20 s from 10 s on, and its beats (samples)."""
    from scipy import signal as sps

    rng = np.random.default_rng(seed)
    rr = 60 / bpm * (1 + 0.02 * rng.standard_normal(round(2.1 * bpm)))
    beats = -2.0 + np.concatenate(([0.0], np.cumsum(rr)))
    beats = beats[beats < 119.0]
    x = ppg_from_beats(beats, fs, 120.0, motion=0.1, noise=0.02, seed=seed)
    sos = sps.butter(2, [0.5, 3.0], "bandpass", fs=fs, output="sos")
    for a in range(10 * fs, 120 * fs, 20 * fs):
        burst = sps.sosfilt(sos, rng.standard_normal(2 * fs))
        x[a:a + 2 * fs] += 3 * burst / burst.std() * np.hanning(2 * fs)
    return x, np.round(beats[beats >= 0] * fs).astype(np.int64)


def ppg_cases(data: Path):
    """(label, signal, fs Hz, reference beats in samples) of every case."""
    for bpm in SIMULATED_BPM:
        x, ref = simulated(bpm, seed=bpm)
        yield f"simulated {bpm} bpm", x, 100, ref
    for label, file, ecg_fs, fs, factor, options in RECORDINGS:
        if (data / "neurokit" / file).exists():
            x, ref = recording_ppg(data, file, ecg_fs, fs, factor, **options)
            yield label, x, fs, ref
    for bpm in (45, 120, 190):
        x, ref = low_perfusion(bpm)
        yield f"low perfusion {bpm} bpm", x, 100, ref
    x, ref = low_perfusion(120, motion=0.05, noise=0.01)
    yield "low perf. 120, 2.5x motion", x, 100, ref
    for bpm in (60, 180):
        x, ref = motion_bursts(bpm)
        yield f"motion bursts {bpm} bpm", x, 100, ref


def ppg_table(data: Path, with_nk: bool) -> list[tuple]:
    """One row per case and polarity: (signal, polarity, intervals, biofeed share, neurokit2
    share or None)."""
    rows = []
    for label, x, fs, ref in ppg_cases(data):
        for sign, pol in ((1, "as gen."), (-1, "inverted")):
            ours, n = one_pulse_share(ppg_peaks(sign * x, fs), ref)
            theirs = one_pulse_share(nk_pulses(sign * x, fs), ref)[0] if with_nk else None
            rows.append((label, pol, n, ours, theirs))
            print(f"  {ppg_row(rows[-1])}", file=sys.stderr, flush=True)
    return rows


def nk_pulses(x: np.ndarray, fs: float) -> np.ndarray:
    """neurokit2's pulses: ``ppg_peaks(ppg_clean(x))`` (Elgendi et al. 2013)."""
    import neurokit2 as nk

    _, info = nk.ppg_peaks(nk.ppg_clean(x, sampling_rate=int(fs)), sampling_rate=int(fs))
    return np.asarray(info["PPG_Peaks"])


def bvp_plausibility(data: Path) -> dict:
    """The real BITalino BVP (1000 Hz, no reference): pulses per minute, the coefficient of
    variation of the pulse intervals, the share of intervals within 20 % of the median, and
    the share of the pulses found again (within 50 ms) when the signal is inverted."""
    x = np.loadtxt(data / "opensignals" / "bvp_sample.txt", comments="#", usecols=2)
    fs = 1000
    up, down = ppg_peaks(x, fs), ppg_peaks(-x, fs)
    iv = np.diff(up) / fs
    both = np.searchsorted(down, up)
    near = np.minimum(np.abs(down[np.clip(both, 0, len(down) - 1)] - up),
                      np.abs(down[np.clip(both - 1, 0, len(down) - 1)] - up))
    return dict(seconds=len(x) / fs, pulses=len(up), bpm=60 / np.median(iv),
                cv=float(np.std(iv) / np.mean(iv)),
                regular=float(np.mean(np.abs(iv / np.median(iv) - 1) < 0.2)),
                same_inverted=float(np.mean(near <= 0.05 * fs)))


def _pct(v: float | None) -> str:
    return f"{100 * v:6.2f}" if v is not None and np.isfinite(v) else "     -"


def ppg_row(row) -> str:
    """One row of the PPG table, under :data:`PPG_HEADER` (80 columns)."""
    what, pol, n, ours, theirs = row
    return f"{what:<30} {pol:<8} {n:>5}  {_pct(ours)}  {_pct(theirs)}"


PPG_HEADER = ("signal                         polarity   RRs   one %  nk one %\n"
              "------------------------------ -------- -----  ------  --------")
