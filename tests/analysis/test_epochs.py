"""Event-related epochs: baseline correction, response windows, NaN outside the data, real EDA."""
from __future__ import annotations

import numpy as np
import pytest

from biofeed.analysis.epochs import eda_epochs, epochs, hr_epochs
from biofeed.record.reader import Signal
from biofeed.stream import StreamInfo

from analysis_data import photosensor_onsets


def _nn(times, nn_ms):
    info = StreamInfo("ecg.rr.nn", "nn", "ms", 0.0, ("nn_ms", "artifact"), "test", True)
    values = np.column_stack((nn_ms, np.zeros(len(nn_ms))))
    return Signal(values, np.asarray(times, float), 0.0, "ms", info)


def test_hr_step_after_each_event_is_the_response():
    # 60 bpm (1000 ms beats) before each event, 75 bpm (800 ms) for 10 s after it.
    t = np.arange(0, 200, 0.1)
    onsets = [50.0, 120.0]
    nn = np.full(len(t), 1000.0)
    for onset in onsets:
        nn[(t >= onset) & (t < onset + 10)] = 800.0
    ep = hr_epochs(_nn(t, nn), onsets, window=(-5, 15), baseline=(-5, 0), fs=10.0, labels=["a", "b"])
    assert ep.unit == "bpm" and ep.labels == ("a", "b")
    np.testing.assert_allclose(ep.baseline, [60.0, 60.0])
    np.testing.assert_allclose(ep.response(0.5, 9.5), [15.0, 15.0], atol=1e-9)
    np.testing.assert_allclose(ep.values[:, ep.times < 0], 0.0, atol=1e-9)
    np.testing.assert_allclose(ep.mean()[(ep.times > 11)], 0.0, atol=1e-9)
    frame = ep.to_frame()
    assert len(frame) == 2 * len(ep.times) and set(frame.label) == {"a", "b"}


def test_baseline_is_the_mean_before_onset_and_outside_data_is_nan():
    t = np.arange(0, 30, 0.25)
    values = 2.0 + 0.1 * t          # a slope: baseline over -4..0 s of onset 10 s is 2.0 + 0.1 * 8
    ep = epochs(t, values, [10.0, 28.0], "uS", window=(-4, 6), baseline=(-4, 0), fs=4.0)
    assert ep.baseline[0] == pytest.approx(2.0 + 0.1 * np.mean(np.arange(6, 10, 0.25)))
    assert np.isnan(ep.values[1, ep.times > 2]).all()      # 28 + 2 s is past the end
    assert np.isfinite(ep.values[0]).all()
    assert np.isnan(epochs(t, values, [100.0], "uS").baseline).all()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="window"):
        epochs([0, 1], [0, 1], [0.5], "uS", window=(5, -5))
    with pytest.raises(ValueError, match="2 labels for 1 onsets"):
        epochs([0, 1], [0, 1], [0.5], "uS", labels=["a", "b"])
    with pytest.raises(ValueError, match="stat"):
        epochs([0, 1], [0, 1], [0.5], "uS").response(0, 1, "median")


def test_real_eda_responds_to_the_negative_images(neurokit_event):
    """NeuroKit2's example shows Negative, Neutral, Neutral, Negative images: skin conductance
    rises within seconds of the negative ones, more than after the neutral ones."""
    fs = 100.0
    onsets = photosensor_onsets(neurokit_event.Photosensor.to_numpy(), fs)
    info = StreamInfo("eda", "eda", "uS", fs, ("EDA",), "test")
    eda = neurokit_event.EDA.to_numpy()
    sig = Signal(eda, np.arange(len(eda)) / fs, fs, "uS", info)
    ep = eda_epochs(sig, onsets, window=(-2, 8), baseline=(-2, 0))
    assert len(onsets) == 4
    scr = ep.response(1, 5, "max")
    assert scr[0] > 0.5 and scr[3] > 0.5
    assert min(scr[0], scr[3]) > max(scr[1], scr[2]) + 0.5
