"""What every beat detector promises (ECG R-peaks, PPG pulses): whatever the chunking, the same
beats, from the detector and from its engine processor; the processor's beat and RR streams."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from beat_testing import run_chunked, run_processor
from biofeed.physio.ecg import RPeakDetector, RPeakProcessor
from biofeed.physio.ppg import PulseDetector, PulseProcessor
from biofeed.stream import StreamInfo

#: Per recording fixture (``(x, beats from one chunk)``): its stream, detector, processor, and
#: the name and kind of the processor's beat stream.
CASES = {
    "mitdb_minute": (StreamInfo("ecg", "ecg", "mV", 360.0), RPeakDetector, RPeakProcessor,
                     "ecg.rpeaks", "rpeak"),
    "noisy_100hz": (StreamInfo("ppg", "ppg", "a.u.", 100.0), PulseDetector, PulseProcessor,
                    "ppg.peaks", "pulse"),
}


@pytest.fixture(scope="module", params=list(CASES), ids=["ecg", "ppg"])
def case(request):
    x, whole = request.getfixturevalue(request.param)
    assert len(whole) > 60
    return (x, whole) + CASES[request.param]


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(1, 3000), min_size=1, max_size=20))
@example(sizes=[10])
def test_any_chunking_gives_the_same_beats(case, sizes):
    x, whole, info, detector, *_ = case
    np.testing.assert_array_equal(run_chunked(detector(info.rate), x, sizes), whole)


def test_processor_streams(case):
    """Beat stream: one sample per beat, the input value at the beat, stamped in session time;
    RR stream (ms): the interval ending at each beat after the first, stamped at that beat."""
    x, beats, info, _, processor, peaks_name, peaks_kind = case
    proc = processor(info)
    out = run_processor(proc, info, x, 36, t0=12.5)
    peaks_info, rr_info = proc.outputs
    assert proc.inputs == (info.name,)
    assert (peaks_info.name, peaks_info.kind, peaks_info.unit, peaks_info.rate) == (
        peaks_name, peaks_kind, info.unit, 0.0)
    assert (rr_info.name, rr_info.kind, rr_info.unit, rr_info.rate) == (
        f"{info.name}.rr", "rr", "ms", 0.0)
    assert peaks_info.derived and rr_info.derived
    (pt, pv), (rt, rv) = out[peaks_name], out[rr_info.name]
    np.testing.assert_allclose(pt, 12.5 + beats / info.rate, atol=1e-9)
    np.testing.assert_array_equal(pv, x[beats])
    np.testing.assert_allclose(rt, pt[1:], atol=1e-9)
    np.testing.assert_allclose(rv, np.diff(beats) / info.rate * 1000, atol=1e-6)


def test_processor_is_chunk_invariant(case):
    x, _, info, _, processor, *_ = case
    a = run_processor(processor(info), info, x, len(x), t0=12.5)
    b = run_processor(processor(info), info, x, 7, t0=12.5)
    for name in a:
        for u, w in zip(a[name], b[name]):
            np.testing.assert_allclose(u, w, rtol=0, atol=1e-9)
