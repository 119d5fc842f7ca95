"""Beat scoring (biofeed.physio.scoring): one-to-one matching, the fiducial offset, pulses per
beat interval."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from biofeed.physio.scoring import BeatScore, match_beats, pulse_counts, score_beats


def test_a_detection_matches_one_reference_beat_at_most():
    hit = match_beats(np.array([100, 101]), np.array([100, 102, 300]), tol=5)
    assert hit.tolist() == [True, True, False]
    assert match_beats(np.array([100]), np.array([99, 101]), tol=5).sum() == 1


def test_a_constant_fiducial_offset_is_removed_before_matching():
    """Detections 100 ms after every expert mark (another point of the complex) still score
    100 % at +-75 ms; without the offset step none would match."""
    fs = 360.0
    ref = np.arange(600) * 300 + 50
    s = score_beats(ref + 36, ref, fs)
    assert (s.tp, s.fn, s.fp) == (600, 0, 0) and abs(s.offset_ms - 100.0) < 1e-9
    assert match_beats(ref + 36, ref, 0.075 * fs).sum() == 0
    missed = score_beats(np.delete(ref, [10, 20]) + 36, ref, fs)
    assert (missed.fn, missed.fp, round(missed.se, 4)) == (2, 0, round(598 / 600, 4))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 10**6), min_size=1, max_size=200, unique=True),
       st.lists(st.integers(0, 10**6), max_size=200, unique=True))
def test_counts_add_up(reference, detected):
    s = score_beats(np.array(detected), np.array(reference), 360.0)
    assert s.tp + s.fn == len(reference) and s.tp + s.fp == len(detected)
    pooled = s + BeatScore(1, 2, 3, 0.0)
    assert (pooled.tp, pooled.fn, pooled.fp) == (s.tp + 1, s.fn + 2, s.fp + 3)


def test_pulses_per_beat_interval():
    beats = np.arange(20) * 100
    pulses = beats + 25                          # a transit delay of 25 samples
    assert (pulse_counts(pulses, beats) == 1).all()
    doubled = np.sort(np.concatenate((pulses, pulses[5:6] + 40)))   # a dicrotic notch counted
    counts = pulse_counts(doubled, beats)
    assert counts.sum() == len(doubled) - 1 and (counts == 2).sum() == 1
    assert len(pulse_counts(pulses, beats[:2])) == 1
