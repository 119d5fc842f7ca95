"""Shared recordings for the analysis tests: a simulated demo session, and the real NeuroKit2
example (ECG + EDA at 100 Hz, ../shared/data)."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import biofeed as bf
from analysis_data import record_demo
from biofeed.record.reader import Recording


@pytest.fixture(scope="session")
def demo_session(tmp_path_factory) -> Path:
    """A demo session recorded with the live processors (derived streams in the file)."""
    return record_demo(tmp_path_factory.mktemp("demo"))


@pytest.fixture(scope="session")
def demo_raw(tmp_path_factory) -> Recording:
    """A demo session with raw streams only (ECG 250 Hz, EDA and respiration 32 Hz)."""
    return bf.read(record_demo(tmp_path_factory.mktemp("raw"), seed=6, with_processors=False))


@pytest.fixture(scope="session")
def neurokit_event(shared_data) -> pd.DataFrame:
    """NeuroKit2's event-related example: ECG, EDA (uS), Photosensor, RSP at 100 Hz."""
    return pd.read_csv(shared_data / "neurokit" / "bio_eventrelated_100hz.csv")
