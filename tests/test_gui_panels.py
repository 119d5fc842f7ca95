"""The clinician's panels, offscreen: spectrum, breathing rate, phase labels, legends, pacer,
plain-text labels."""
from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import Qt

from biofeed.clock import SessionClock
from biofeed.live import LiveBuffers
from biofeed.physio.breath import breath_stream_info
from biofeed.stream import Chunk, Event, StreamInfo

NN = StreamInfo("ecg.rr.nn", "nn", "ms", 0.0, ("nn_ms", "artifact"), "x", True)
RESP = StreamInfo("resp", "resp", "a.u.", 32.0)
BREATHS = breath_stream_info(RESP)


def _live(*streams: StreamInfo) -> LiveBuffers:
    live = LiveBuffers()
    live.start(SessionClock(), list(streams))
    return live


def _sine_nn(seconds: float, hz: float = 0.1, amp_ms: float = 50.0):
    """NN intervals (ms) of a heart period 800 ms + amp sin(2 pi hz t), and the beat times."""
    nn, t = [], 0.0
    while t < seconds:
        interval = 800.0 + amp_ms * math.sin(2 * math.pi * hz * t)
        t += interval / 1000.0
        nn.append(interval)
    return np.array(nn), np.cumsum(nn) / 1000.0


def test_spectrum_finds_the_resonance_peak_and_the_bands():
    from biofeed.gui.spectrum import MAX_HZ, nn_spectrum

    nn, _ = _sine_nn(120.0, hz=0.1)
    sp = nn_spectrum(nn)
    assert abs(sp.peak_hz - 0.1) <= 0.008 and abs(sp.peak_per_min - 6.0) <= 0.5
    # a 50 ms sine holds 50^2 / 2 = 1250 ms^2, nearly all in LF
    assert 1000.0 < sp.lf_ms2 < 1400.0 and sp.hf_ms2 < 0.05 * sp.lf_ms2
    assert sp.f_hz[-1] <= MAX_HZ and sp.f_hz.shape == sp.psd_ms2_hz.shape
    fast = nn_spectrum(_sine_nn(120.0, hz=0.25)[0])            # breathing at 15/min: HF
    assert abs(fast.peak_hz - 0.25) <= 0.008 and fast.hf_ms2 > 10 * fast.lf_ms2
    assert nn_spectrum(_sine_nn(50.0)[0]) is None               # under 60 s of beats


def test_spectrum_panel_draws_the_last_two_minutes_with_the_peak(qtbot):
    from biofeed.gui.plots import SpectrumPlots

    live = _live(NN)
    nn, t = _sine_nn(300.0, hz=0.1)
    live.write(Chunk(NN, np.column_stack([nn, np.zeros(nn.size)]), 0.0, timestamps=t))
    panel = SpectrumPlots(live)
    qtbot.addWidget(panel)
    panel.refresh()
    f, p = panel.curve.getData()
    assert len(f) and f[np.argmax(p)] == pytest.approx(0.1, abs=0.008)
    assert panel.peak.isVisible() and panel.peak.value() == pytest.approx(0.1, abs=0.008)
    assert "peak 0.10" in panel.spectrum.titleLabel.text and "/min" in panel.spectrum.titleLabel.text


def test_measured_breathing_rate_from_the_last_breaths():
    from biofeed.gui.indices import breathing_rate_bpm

    live = _live(RESP, BREATHS)
    assert math.isnan(breathing_rate_bpm(live, 10.0))             # no breath yet
    onsets = np.array([2.0, 12.0, 22.0, 31.0, 41.0])
    cycles = np.r_[np.nan, np.diff(onsets)]
    live.write(Chunk(BREATHS, cycles[:, None], 0.0, timestamps=onsets))
    assert breathing_rate_bpm(live, 45.0) == pytest.approx(60.0 / np.mean([10.0, 9.0, 10.0]))
    assert math.isnan(breathing_rate_bpm(live, 41.0 + 25.0))      # no breath for 25 s


def test_pacer_says_what_the_circle_does_and_shows_both_rates(qtbot):
    from biofeed.gui.pacer import PacerWidget
    from biofeed.protocol.runner import ProtocolRunner
    from biofeed.protocol.schedule import Pacer, Phase, Protocol

    runner = ProtocolRunner(Protocol("p", (Phase("paced", "paced_breathing", 60.0, "Breathe.",
                                                 pacer=Pacer(6.0, 0.4)),)))
    pacer = PacerWidget()
    qtbot.addWidget(pacer)
    pacer.show_state(runner.state_at(1.0), 6.3)
    pacer.show_state(runner.state_at(1.5), 6.3)                   # inhaling: the circle grows
    assert pacer.instruction() == "breathe in"
    assert pacer.rates() == "pacer 6 · measured 6.3 breaths/min"
    pacer.show_state(runner.state_at(5.5))                        # exhaling: it shrinks
    pacer.show_state(runner.state_at(6.0))
    assert pacer.instruction() == "breathe out"
    assert pacer.rates() == "pacer 6 · measured — breaths/min"
    pacer.show_state(None, 14.0)
    assert pacer.instruction() == "breathe naturally" and pacer.rates() == "measured 14.0 breaths/min"


def test_phase_labels_stay_in_view_while_their_phase_scrolls_out(qtbot):
    from biofeed.gui.plots import SignalPlots

    live = _live(NN)
    live.event(Event(1, 0.0, 60.0, "baseline", "phase", {"phase_kind": "baseline"}))
    live.event(Event(2, 60.0, 60.0, "stressor", "phase", {"phase_kind": "prompt"}))
    nn, t = _sine_nn(230.0)
    live.write(Chunk(NN, np.column_stack([nn, np.zeros(nn.size)]), 0.0, timestamps=t))
    plots = SignalPlots(live)
    qtbot.addWidget(plots)
    plots.refresh(now=200.0)                                       # view 20-200 s
    (_, base), (_, stress) = plots._bands[(1, "hr")], plots._bands[(2, "hr")]
    x0 = plots.plots["hr"].viewRange()[0][0]
    assert x0 == pytest.approx(20.0)
    assert base.isVisible() and base.pos().x() == pytest.approx(20.0)   # clamped, not cut
    assert stress.isVisible() and stress.pos().x() == pytest.approx(60.0)
    plots.refresh(now=235.0)                                       # 55-235 s: 5 s of baseline
    assert not base.isVisible() and stress.isVisible()
    assert "corrected beat" in plots.plots["hr"].titleLabel.text   # the markers' legend
    assert "SCR onset" in plots.plots["eda"].titleLabel.text


def test_labels_showing_protocol_or_device_text_are_plain_text(qtbot):
    from biofeed.gui.panels import ControlsPanel, PromptPanel, QualityPanel
    from biofeed.gui.indices import SensorQuality
    from biofeed.protocol.runner import ProtocolRunner
    from biofeed.protocol.schedule import Phase, Protocol, Rating

    runner = ProtocolRunner(Protocol("p", (Phase("<b>x</b>", "rating", 60.0, "<i>rate</i>",
                                                 rating=Rating("S", "<u>q</u>?", 0, 3)),)))
    prompt, controls, quality = PromptPanel(), ControlsPanel(lambda n: None, lambda: None), QualityPanel()
    for w in (prompt, controls, quality):
        qtbot.addWidget(w)
    prompt.show_state(runner.state_at(1.0), 10.0)
    quality.show_quality([SensorQuality("<b>child</b> ECG", "good", 100.0, 100.0)])
    labels = [prompt.phase, prompt.text, prompt.rating_question, controls.status,
              quality.rows["<b>child</b> ECG"][1]]
    assert all(label.textFormat() == Qt.PlainText for label in labels)
    assert prompt.text.text() == "<i>rate</i>"


def test_a_sensor_of_a_disconnected_device_says_so(qtbot):
    from biofeed.gui.indices import SensorQuality
    from biofeed.gui.panels import QualityPanel
    from biofeed.gui.style import QUALITY_COLOURS

    panel = QualityPanel()
    qtbot.addWidget(panel)
    sensors = [SensorQuality("gsr EDA", "good", 100.0, 100.0, "gsr@grove-gsr"),
               SensorQuality("ECG", "good", 100.0, 100.0, "simulated")]
    panel.show_quality(sensors, {"gsr@grove-gsr"})
    light, _, text = panel.rows["gsr EDA"]
    assert text.text() == "NO DATA: device disconnected"
    assert QUALITY_COLOURS["poor"] in light.styleSheet()
    assert panel.rows["ECG"][2].text().startswith("GOOD")
    panel.show_quality(sensors)                                   # it came back
    assert text.text().startswith("GOOD")
