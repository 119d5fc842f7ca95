"""Scoring detected beats against reference annotations (ANSI/AAMI EC57 style).

A detection matches a reference beat when it lies within a tolerance of it, one to one
(:func:`match_beats`). Detectors and annotators may mark different fiducial points of the same
complex (the R-wave maximum, the QRS onset, the energy peak), so :func:`score_beats` first
removes their constant offset: the median difference over the first ``offset_beats`` reference
beats that have a detection within the wide AAMI window (150 ms). Sensitivity Se = TP/(TP+FN),
positive predictivity +P = TP/(TP+FP).

Pulses (PPG) against heart beats (:func:`pulse_counts`): the pulses inside each beat-to-beat
interval, after the pulse transit delay is removed; a good detector puts exactly one in each.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["BEAT_SYMBOLS", "BeatScore", "match_beats", "pulse_counts", "score_beats"]

#: Annotation symbols of the MIT-BIH / WFDB convention that mark a beat (normal, bundle branch
#: block, atrial and nodal premature, aberrated, ventricular, fusion, escape, paced,
#: unclassifiable); the rest mark rhythm changes, noise and other non-beats.
BEAT_SYMBOLS = frozenset("NLRBAaJSVrFejnE/fQ?")


@dataclass(frozen=True)
class BeatScore:
    """Counts of one comparison and the fiducial offset removed before it.

    ``offset_ms``: median (detected - reference) time, milliseconds.
    """

    tp: int
    fn: int
    fp: int
    offset_ms: float

    @property
    def se(self) -> float:
        """Sensitivity TP / (TP + FN), a fraction (NaN without reference beats)."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def ppv(self) -> float:
        """Positive predictivity TP / (TP + FP), a fraction (NaN without detections)."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    def __add__(self, other: "BeatScore") -> "BeatScore":
        """Pooled counts (the offset of a pool is not defined: NaN)."""
        return BeatScore(self.tp + other.tp, self.fn + other.fn, self.fp + other.fp,
                         float("nan"))


def match_beats(detected: np.ndarray, reference: np.ndarray, tol: float) -> np.ndarray:
    """One-to-one matching of beat positions within +-``tol`` (same unit as the positions).

    Each reference beat, in time order, takes the nearest unused detection within the
    tolerance. Returns a boolean mask over the sorted ``reference``: True where matched. The
    number of false detections is ``len(detected) - mask.sum()``.
    """
    det = np.sort(np.asarray(detected, dtype=np.float64))
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    hit = np.zeros(len(ref), dtype=bool)
    used = np.zeros(len(det), dtype=bool)
    lo = np.searchsorted(det, ref - tol, side="left")
    hi = np.searchsorted(det, ref + tol, side="right")
    for k in np.flatnonzero(hi > lo):
        cand = np.arange(lo[k], hi[k])
        cand = cand[~used[cand]]
        if len(cand):
            j = cand[np.argmin(np.abs(det[cand] - ref[k]))]
            used[j] = hit[k] = True
    return hit


def score_beats(detected: np.ndarray, reference: np.ndarray, fs: float, *,
                tol: float = 0.075, offset_beats: int = 500,
                offset_window: float = 0.150) -> BeatScore:
    """Se and +P of detected beats against reference beats (sample indices at ``fs`` Hz).

    Parameters
    ----------
    detected, reference : array_like of int
        Beat sample indices.
    fs : float
        Sampling rate, Hz.
    tol : float
        Matching tolerance after the offset is removed, seconds (75 ms).
    offset_beats : int
        How many of the first reference beats estimate the fiducial offset (500).
    offset_window : float
        Only reference beats with a detection this close (seconds) vote on the offset (150 ms,
        the ANSI/AAMI EC57 matching window).
    """
    det = np.sort(np.asarray(detected, dtype=np.float64))
    ref = np.sort(np.asarray(reference, dtype=np.float64))
    offset = 0.0
    if len(det) and len(ref):
        first = ref[:offset_beats]
        j = np.clip(np.searchsorted(det, first), 1, len(det) - 1) if len(det) > 1 else \
            np.zeros(len(first), dtype=np.int64)
        near = np.where(np.abs(det[j - 1] - first) < np.abs(det[j] - first), det[j - 1], det[j]) \
            if len(det) > 1 else det[j]
        diff = near - first
        diff = diff[np.abs(diff) <= offset_window * fs]
        offset = float(np.median(diff)) if len(diff) else 0.0
    hit = match_beats(det - offset, ref, tol * fs)
    tp = int(hit.sum())
    return BeatScore(tp, len(ref) - tp, len(det) - tp, 1000.0 * offset / fs)


def pulse_counts(pulses: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """Pulses in each interval between consecutive ``beats`` (both sample indices).

    The pulses are first shifted by their median delay after the beats minus half the median
    beat interval, so a pulse on time sits mid-interval, not on a boundary where a one-sample
    jitter would move it to the next interval. All zeros with fewer than three beats or no
    pulse after a beat.
    """
    pulses, beats = np.sort(pulses), np.sort(beats)
    j = np.searchsorted(pulses, beats)
    after = j < len(pulses)
    if len(beats) < 3 or not after.any():
        return np.zeros(max(len(beats) - 1, 0), dtype=np.int64)
    shift = np.median(pulses[j[after]] - beats[after]) - np.median(np.diff(beats)) / 2
    return np.diff(np.searchsorted(pulses - shift, beats))
