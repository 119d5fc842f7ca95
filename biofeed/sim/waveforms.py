"""Pure waveform models used by the simulated sensor.

- ECG beats as sums of Gaussian waves (P, Q, R, S, T), after McSharry et al. 2003 (ECGSYN),
  with the T wave placed by Bazett's QT scaling (QT proportional to sqrt(RR)).
- Skin conductance responses as a peak-normalised Bateman function (Benedek & Kaernbach 2010).
- PPG pulses after given heart beats as two Gaussian waves, systolic and diastolic (Rubins
  2008).
- Chest acceleration of a sensor on the sternum: gravity seen at the chest's tilt
  (:func:`chest_acc`).
"""
from __future__ import annotations

import numpy as np
from scipy import signal as sps

# (offset from R s, amplitude mV, width s); the T wave's offset and width scale with sqrt(RR s).
_NORMAL_WAVES = ((-0.200, 0.12, 0.025), (-0.028, -0.10, 0.008), (0.0, 1.10, 0.010),
                 (0.030, -0.22, 0.010))
_NORMAL_T = (0.28, 0.28, 0.045)
# Premature ventricular beat: no P, wide R and S, inverted T.
_ECTOPIC_WAVES = ((0.0, 1.45, 0.028), (0.065, -0.45, 0.026))
_ECTOPIC_T = (0.32, -0.35, 0.060)

#: Seconds around an R peak outside which a beat's waves are negligible.
BEAT_SPAN_S = (-0.35, 0.75)


def ecg_beats(t: np.ndarray, r_times: np.ndarray, rr_s: np.ndarray, ectopic: np.ndarray,
              r_scale: np.ndarray) -> np.ndarray:
    """ECG in mV at times ``t`` (s) from beats with R peaks at ``r_times`` (s).

    Parameters
    ----------
    t : ndarray
        Sample times, seconds, increasing.
    r_times : ndarray
        R-peak times, seconds, increasing.
    rr_s : ndarray
        The RR interval ending at each beat, seconds (sets the QT length).
    ectopic : ndarray of bool
        True for premature ventricular beats (wide QRS, no P wave).
    r_scale : ndarray
        Amplitude factor of each beat (respiratory modulation of the QRS axis).
    """
    out = np.zeros_like(t, dtype=float)
    lo = np.searchsorted(t, r_times + BEAT_SPAN_S[0])
    hi = np.searchsorted(t, r_times + BEAT_SPAN_S[1])
    for r, rr, ect, scale, a, b in zip(r_times, rr_s, ectopic, r_scale, lo, hi):
        if a == b:
            continue
        dt = t[a:b] - r
        waves, (t_off, t_amp, t_w) = (_ECTOPIC_WAVES, _ECTOPIC_T) if ect else (_NORMAL_WAVES, _NORMAL_T)
        q = np.sqrt(rr)
        seg = t_amp * np.exp(-0.5 * ((dt - t_off * q) / (t_w * q)) ** 2)
        for off, amp, w in waves:
            seg += scale * amp * np.exp(-0.5 * ((dt - off) / w) ** 2)
        out[a:b] += seg
    return out


def bateman_peak_time(tau_rise: float, tau_decay: float) -> float:
    """Time from onset to peak of the Bateman function, seconds."""
    return np.log(tau_decay / tau_rise) * tau_rise * tau_decay / (tau_decay - tau_rise)


def scr_shape(dt: np.ndarray, tau_rise: float = 0.75, tau_decay: float = 4.0) -> np.ndarray:
    """Skin conductance response of peak 1 at ``dt`` seconds after its onset (0 before onset).

    Bateman function ``exp(-dt/tau_decay) - exp(-dt/tau_rise)`` scaled to a peak of 1
    (Benedek & Kaernbach 2010); with the defaults the peak comes 1.55 s after onset.
    """
    tp = bateman_peak_time(tau_rise, tau_decay)
    norm = np.exp(-tp / tau_decay) - np.exp(-tp / tau_rise)
    d = np.maximum(dt, 0.0)
    return np.where(dt > 0, (np.exp(-d / tau_decay) - np.exp(-d / tau_rise)) / norm, 0.0)


#: Seconds around a heart beat outside which its PPG pulse is negligible (at RR <= 2 s).
PULSE_SPAN_S = (0.0, 2.2)


def ppg_pulses(t: np.ndarray, beats: np.ndarray, scale: np.ndarray, gain: np.ndarray, *,
               delay_s: float = 0.25, diastolic: float = 0.4, notch: float = 0.5) -> np.ndarray:
    """The pulses of :func:`ppg_from_beats` at sample times ``t`` (s): one per heart beat at
    ``beats`` (s), its times scaled by ``scale`` (``sqrt(RR / 1 s)``) and its height by
    ``gain``; beats outside ``t`` add what of their pulse falls inside."""
    rise, fall = 0.06, 0.09 + 0.06 * (1.0 - notch)
    out = np.zeros_like(t, dtype=float)
    for b, k, g in zip(beats, scale, gain):
        peak = b + delay_s + 2 * rise * k                 # upstroke starts ~2 rise widths before
        a, z = np.searchsorted(t, [peak - 4 * rise * k, peak + 1.2 * k])
        dt = t[a:z] - peak
        width = np.where(dt < 0, rise, fall) * k
        wave = np.exp(-0.5 * (dt / width) ** 2)
        wave += diastolic * np.exp(-0.5 * ((dt - 0.3 * k) / (0.07 * k)) ** 2)
        out[a:z] += g * wave
    return out


def ppg_from_beats(beat_times_s: np.ndarray, fs: float, duration_s: float | None = None, *,
                   delay_s: float = 0.25, diastolic: float = 0.4, notch: float = 0.5,
                   amplitude_sd: float = 0.1, amplitude: np.ndarray | None = None,
                   resp_hz: float = 0.25, resp_baseline: float = 0.2, resp_amplitude: float = 0.1,
                   motion: float = 0.0, noise: float = 0.01, seed: int = 0) -> np.ndarray:
    """PPG (peaks up, about 1 a.u. per pulse) whose pulses follow the heart beats at
    ``beat_times_s`` (e.g. ECG R-peaks, seconds), after a pulse transit delay.

    Each pulse is a sum of two Gaussian waves, as in the pulse decomposition of Rubins (2008,
    Med Biol Eng Comput 46:1271, "Finger and ear photoplethysmogram waveform analysis by
    fitting with Gaussians"): a systolic wave that rises faster than it falls (rise width
    0.06 s, fall width ``0.09 + 0.06 x (1 - notch)`` s) and a diastolic wave
    (width 0.07 s) 0.3 s after the systolic peak, with relative height ``diastolic``. Times scale
    with ``sqrt(RR / 1 s)`` (as the QT interval, Bazett), so pulses stay inside the beat at
    200 bpm. Pulses overlap and add.

    Parameters
    ----------
    beat_times_s : array_like
        Heart beat times, seconds, increasing.
    fs : float
        Sampling rate, Hz.
    duration_s : float, optional
        Length of the output, seconds (default: 1 s after the last beat).
    delay_s : float
        Pulse transit time: heart beat to the start of the systolic upstroke, seconds.
    diastolic : float
        Diastolic wave height relative to the systolic one.
    notch : float
        0-1: how deep the dicrotic notch is (1: the systolic wave falls fastest, leaving a
        notch down to about half the diastolic wave's height).
    amplitude_sd : float
        Beat-to-beat relative SD of the pulse amplitude (Gaussian).
    amplitude : array_like, optional
        Amplitude factor per beat (low perfusion, changing perfusion); default 1.
    resp_hz : float
        Breathing rate, Hz: the baseline wanders by ``resp_baseline`` and the amplitude by
        ``resp_amplitude`` (relative) at this rate (respiratory-induced intensity and
        amplitude variation).
    motion : float
        SD of a random 0.1-1 Hz baseline (motion), in pulse amplitudes.
    noise : float
        SD of white noise, in pulse amplitudes.
    seed : int
        Seed of the random generator.

    Returns
    -------
    ndarray, shape (round(duration_s * fs),)
        The PPG, sample ``i`` at ``i / fs`` seconds.
    """
    beats = np.asarray(beat_times_s, dtype=float)
    if duration_s is None:
        duration_s = (beats[-1] if len(beats) else 0.0) + 1.0
    rng = np.random.default_rng(seed)
    t = np.arange(round(duration_s * fs)) / fs
    rr = np.diff(beats, append=beats[-1] + (beats[-1] - beats[-2] if len(beats) > 1 else 1.0)) \
        if len(beats) else beats
    scale = np.sqrt(np.clip(rr, 0.25, 2.0))
    gain = (1.0 + amplitude_sd * rng.standard_normal(len(beats))) \
        * (1.0 + resp_amplitude * np.sin(2 * np.pi * resp_hz * beats))
    if amplitude is not None:
        gain = gain * np.asarray(amplitude, dtype=float)
    out = ppg_pulses(t, beats, scale, gain, delay_s=delay_s, diastolic=diastolic, notch=notch)
    out += resp_baseline * np.sin(2 * np.pi * resp_hz * t + 1.0)
    if motion > 0:
        sos = sps.butter(2, [0.1, min(1.0, 0.45 * fs)], "bandpass", fs=fs, output="sos")
        settle = round(30 * fs)         # the filter's start-up transient, dropped
        wander = sps.sosfilt(sos, rng.standard_normal(settle + len(t)))[settle:]
        out += motion * wander / max(np.std(wander), 1e-12)
    return out + noise * rng.standard_normal(len(t))


def chest_acc(pitch: np.ndarray, roll: np.ndarray) -> np.ndarray:
    """Gravity in the frame of a chest sensor tilted by ``pitch`` (forward, rad) and ``roll``
    (sideways, rad), g, shape (n, 3): ``(sin p, -sin r cos p, cos r cos p)`` (x forward, z
    along the body axis when upright). Breathing tilts the chest wall by a fraction of a
    degree, which a sternum accelerometer records as a small turn of this vector (Bates et al.
    2010, Proc BSN 144-150)."""
    cp = np.cos(pitch)
    return np.column_stack((np.sin(pitch), -np.sin(roll) * cp, np.cos(roll) * cp))
