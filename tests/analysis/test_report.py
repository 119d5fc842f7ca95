"""``analyze`` writes the per-phase table and a self-contained HTML report, for a demo session
and for every real recording in ../shared/data; headless Chromium renders it with its figures."""
from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

import biofeed as bf
from biofeed.analysis.analyze import analyze
from biofeed.analysis.report import write_report
from biofeed.analysis.figures import FIGURES


@pytest.fixture(scope="module")
def demo_report(demo_session, tmp_path_factory):
    result = analyze(bf.read(demo_session))
    return result, write_report(result, tmp_path_factory.mktemp("report"))


def test_demo_report_and_table(demo_report, demo_session):
    result, files = demo_report
    table = pd.read_csv(files.table)
    assert table.phase.tolist() == ["baseline", "stressor", "recovery", "paced_breathing"]
    stress, base = table.set_index("phase").loc["stressor"], table.set_index("phase").loc["baseline"]
    assert stress.hr_bpm > base.hr_bpm + 3 and stress.scl_us > base.scl_us
    page = files.html.read_text()
    assert len(re.findall(r'<img [^>]*src="data:image/png;base64,', page)) == len(FIGURES)
    assert not re.search(r'(src|href)="(https?:)?//', page)            # nothing loaded from outside
    for heading in ("Session", "Protocol timeline", "Per-phase summary", "Reactivity and recovery",
                    "Event-related responses", "Artifacts and signal quality"):
        assert f"<h2>{heading}</h2>" in page
    assert "Think of a time when you needed someone" in page           # the prompt's text
    assert "RR artifact correction, automatic: " in page and "Lipponen &amp; Tarvainen" in page
    changes = result.reactivity.set_index("phase")
    assert changes.loc["baseline", "d_hr_bpm"] == 0 and changes.loc["stressor", "d_hr_bpm"] > 3
    assert result.resonance is None and "Resonance assessment" not in page
    (response,) = result.responses.itertuples()
    assert response.label == "stressor" and response.hr_change_bpm > 2 and response.scr_us > 0.05
    corrected = result.artifacts.set_index(["stream", "measure"]).value
    assert 0 < corrected["ecg.rr.nn", "corrected beats"] < 10


def test_report_matches_the_live_derived_streams(demo_report, demo_session):
    """The replay in analyze runs the same processors as live: its phase table is the live one."""
    from biofeed.analysis.phases import phase_table

    result, _ = demo_report
    live = phase_table(bf.read(demo_session))
    pd.testing.assert_frame_equal(result.phases, live)


def test_signal_quality_per_sensor_and_phase(demo_report):
    result, files = demo_report
    phases = result.phases.set_index("phase")
    # the simulated sensor is clean but for a motion artifact every 2 min
    assert (phases.heart_good_pct >= 70).all() and (phases.eda_good_pct >= 70).all()
    assert not phases.hrv_poor_data.any()
    quality = result.artifacts.set_index(["stream", "measure"]).value
    assert quality["ecg.quality", "segments (10 s)"] == 47
    assert 70 <= quality["ecg.quality", "good segments"] <= 100
    assert 70 <= quality["eda.quality", "good segments"] <= 100
    page = files.html.read_text()
    assert "Orphanidou et al. 2015" in page and "! poor data" not in page


def test_hrv_on_poor_data_is_flagged(demo_raw, tmp_path):
    """A pulled ECG electrode through the stressor phase: that phase's HR and HRV are flagged."""
    from biofeed.record.reader import Recording, Signal

    ecg = demo_raw.signals["ecg"]
    stressor = demo_raw.events[demo_raw.events.label == "stressor"].iloc[0]
    values = ecg.values.copy()
    pulled = (ecg.times >= stressor.onset + 5) & (ecg.times < stressor.onset + stressor.duration)
    values[pulled] = values[pulled][0]                      # stuck at one value
    signals = [Signal(values, ecg.times, ecg.fs, ecg.unit, ecg.info)]
    signals += [demo_raw.signals[n] for n in demo_raw.streams if n != "ecg"]
    rec = Recording.from_signals(signals, demo_raw.events, demo_raw.meta, tmp_path / "pulled")
    result = analyze(rec)
    phases = result.phases.set_index("phase")
    assert phases.loc["stressor", "heart_good_pct"] < 20
    assert phases.hrv_poor_data.tolist() == [False, True, False, False]
    assert phases.loc["stressor", "eda_good_pct"] >= 70            # the EDA was fine
    page = write_report(result, tmp_path / "report").html.read_text()
    heart = ("hr_bpm", "rmssd_ms", "sdnn_ms", "lf_hf")
    flagged = sum(np.isfinite(phases.loc["stressor", c]) for c in heart)
    changes = result.reactivity.set_index("phase")
    flagged += sum(np.isfinite(changes.loc["stressor", f"d_{c}"]) for c in heart)
    assert flagged >= 2 and page.count(" !</td>") == flagged
    assert "! poor data: fewer than 80 %" in page
    assert "<h3>Signal quality per phase</h3>" in page
    assert re.search(r"<td>stressor</td>\s*<td>\d+</td>\s*<td>\d+</td>\s*<td>yes</td>", page)


def test_resonance_assessment_in_the_report(tmp_path):
    """A simulated participant whose RSA peaks at 5.5 breaths/min: the report names that rate."""
    from analysis_data import record_protocol
    from biofeed.protocol.library import load

    path = record_protocol(tmp_path, load("resonance-frequency-assessment"), resonance_bpm=5.5)
    result = analyze(bf.read(path))
    assert result.resonance is not None and result.resonance.rate_bpm == 5.5
    page = write_report(result, tmp_path / "report").html.read_text()
    assert "<h2>Resonance assessment</h2>" in page and "<b>5.5 breaths/min</b>" in page
    assert result.resonance.table.rate_bpm.tolist() == [6.5, 6.0, 5.5, 5.0, 4.5]


@pytest.mark.slow
@pytest.mark.parametrize("name, options, kinds", [
    ("mitdb/100.hea", {}, {"ecg"}),
    ("neurokit/bio_eventrelated_100hz.csv", {"rate": 100.0}, {"ecg", "eda", "resp"}),
    ("neurokit/bio_resting_8min_100hz.csv", {"rate": 100.0}, {"ecg", "eda", "resp"}),
    ("neurokit/ecg_1000hz.csv", {"rate": 1000.0}, {"ecg"}),
])
def test_analyze_every_shared_recording(shared_data, tmp_path, name, options, kinds):
    from biofeed.cli import main

    path = shared_data / name
    args = [f"--rate={options['rate']}"] if options else []
    assert main(["analyze", str(path), "--out", str(tmp_path), *args]) == 0
    stem = path.stem
    table = pd.read_csv(tmp_path / f"{stem}_phases.csv")
    assert table.phase.tolist() == ["recording"] and 40 < table.hr_bpm[0] < 120
    page = (tmp_path / f"{stem}_report.html").read_text()
    assert page.count("data:image/png;base64,") >= 2   # tachogram and HRV per phase at least
    assert {s.kind for s in bf.read(path, **options).streams.values()} == kinds


def test_analyze_reports_a_bad_file(tmp_path, capsys):
    from biofeed.cli import main

    bad = tmp_path / "notes.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["analyze", str(bad), "--rate", "100", "--out", str(tmp_path)]) == 2
    assert "notes.csv: no column of a known kind" in " ".join(capsys.readouterr().out.split())


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
#: A colour only (or first) drawn by each figure: matplotlib's tab:blue, tab:green, tab:purple,
#: tab:red, and tab:brown (the mean of the event-related epochs).
FIGURE_COLOURS = {"tachogram": (31, 119, 180), "EDA": (44, 160, 44), "RMSSD bars": (148, 103, 189),
                  "arousal": (214, 39, 40), "event-related mean": (140, 86, 75)}


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's "
                                             "chromium package)")
def test_report_renders_in_headless_chromium(demo_report, tmp_path):
    _, files = demo_report
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                    "--window-size=1200,3200", f"--screenshot={shot}", files.html.as_uri()],
                   check=True, capture_output=True, timeout=90)
    image = imread(shot)[..., :3]
    assert image.shape[:2] == (3200, 1200)
    assert image.std() > 0.05                                          # not blank
    # Text and tables are grey on white; each figure adds its own colour, so every colour
    # below shows that its figure was decoded and drawn on the page.
    for figure, rgb in FIGURE_COLOURS.items():
        close = np.abs(image - np.array(rgb) / 255.0).max(axis=2) < 0.08
        assert close.sum() > 100, f"{figure} not rendered ({close.sum()} pixels of its colour)"
