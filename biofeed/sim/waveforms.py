"""Pure waveform models used by the simulated sensor.

- ECG beats as sums of Gaussian waves (P, Q, R, S, T), after McSharry et al. 2003 (ECGSYN),
  with the T wave placed by Bazett's QT scaling (QT proportional to sqrt(RR)).
- Skin conductance responses as a peak-normalised Bateman function (Benedek & Kaernbach 2010).
"""
from __future__ import annotations

import numpy as np

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
