"""Recordings shared by the beat-detector tests: the MIT-BIH records and a simulated noisy PPG."""
from __future__ import annotations

import numpy as np
import pytest

from beat_testing import simulate_ppg
from biofeed.physio.ecg import ecg_peaks
from biofeed.physio.ppg import ppg_peaks
from biofeed.physio.scoring import BEAT_SYMBOLS


@pytest.fixture(scope="session")
def mitdb(shared_data):
    """MIT-BIH record 100 (wfdb record, 360 Hz) and the sample indices of its annotated beats."""
    wfdb = pytest.importorskip("wfdb")
    rec = wfdb.rdrecord(str(shared_data / "mitdb" / "100"))
    beats = _reference_beats(shared_data / "mitdb" / "100")
    assert rec.fs == 360 and len(beats) == 2273
    return rec, beats


def _reference_beats(base) -> np.ndarray:
    """Expert beat positions of a record: its .atr beats, or every .qrs position."""
    wfdb = pytest.importorskip("wfdb")
    ext = "atr" if base.with_suffix(".atr").exists() else "qrs"
    ann = wfdb.rdann(str(base), ext)
    return np.array([s for s, sym in zip(ann.sample, ann.symbol) if sym in BEAT_SYMBOLS])


@pytest.fixture(scope="session")
def mitdb_all(shared_data):
    """Every record in ``mitdb/``: name -> (wfdb record, sample indices of its expert beats)."""
    wfdb = pytest.importorskip("wfdb")
    out = {}
    for hea in sorted((shared_data / "mitdb").glob("*.hea")):
        base = hea.with_suffix("")
        out[base.name] = (wfdb.rdrecord(str(base)), _reference_beats(base))
    assert len(out) >= 8
    return out


@pytest.fixture(scope="session")
def mitdb_minute(mitdb):
    """The first minute of MIT-BIH 100 lead V5 (mV, 360 Hz) and its R-peaks from one chunk."""
    rec, _ = mitdb
    x = rec.p_signal[:60 * 360, 1]
    return x, ecg_peaks(x, 360)


@pytest.fixture(scope="session")
def noisy_100hz():
    """2 min of simulated PPG at 100 Hz with drift, motion and mains, and its peaks from one
    chunk."""
    x = simulate_ppg(100, 4, noisy=True)
    return x, ppg_peaks(x, 100)
