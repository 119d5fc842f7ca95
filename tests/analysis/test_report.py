"""``analyze`` writes the per-phase table and the session report (a self-contained HTML page
and a PDF), for a demo session and for every real recording in ../shared/data; headless
Chromium renders the page with its figures, pdftoppm the PDF."""
from __future__ import annotations

import base64
import re
import shutil
import stat
import subprocess

import numpy as np
import pandas as pd
import pytest
from matplotlib.image import imread

import biofeed as bf
from biofeed.analysis.analyze import analyze
from biofeed.analysis.report import write_report

SVG_IMG = re.compile(r'<img alt="([^"]+)" src="data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)">')


def figures_of(page: str) -> dict[str, str]:
    """The page's figures: title -> SVG text."""
    return {title: base64.b64decode(data).decode() for title, data in SVG_IMG.findall(page)}


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
    assert not re.search(r'(src|href)="(https?:)?//', page)            # nothing loaded from outside
    for heading in ("Session", "Key numbers per phase", "Protocol timeline", "Per-phase summary",
                    "Reactivity and recovery", "Event-related responses",
                    "Artifacts and signal quality"):
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


def test_report_figures_are_full_width_vector_graphics(demo_report):
    """At least 7 SVG figures, among them the RR tachogram in ms, the spectrum with its bands and
    the Poincare plot; the event-related plot draws no mean over its one event."""
    _, files = demo_report
    figs = figures_of(files.html.read_text())
    assert len(figs) >= 7, list(figs)
    assert {"RR tachogram", "Power spectrum per phase", "Poincaré plot", "Breathing rate and pacer",
            "Signal quality over time", "Heart rate and skin conductance"} <= set(figs)
    assert "RR interval (ms)" in figs["RR tachogram"] and "corrected beat (" in figs["RR tachogram"]
    assert all(band in figs["Power spectrum per phase"] for band in ("VLF", "LF", "HF", "ms²/Hz"))
    assert figs["Poincaré plot"].count("SD1 ") == 4                   # a panel per phase
    assert "pacer rate" in figs["Breathing rate and pacer"]
    assert "mean" not in figs["Event-related HR and skin conductance"]   # one event: no mean
    for svg in figs.values():                                          # 10 in wide, 10 pt text
        assert re.search(r'<svg[^>]+width="720pt"', svg)
        sizes = {float(x) for x in re.findall(r"font-size:\s*([\d.]+)px", svg)}
        assert sizes and min(sizes) >= 9 * 0.9, sizes
    page = files.html.read_text()
    assert "figure img { width: 100%" in page
    assert "Not drawn, for lack of data: Ratings over time (needs ratings asked by the protocol)." in page


def test_report_tables_read_as_text(demo_report):
    """Human headers with units (no snake case), numbers right-aligned and text left-aligned,
    every dash with its footnote, the reason for a non-zero baseline arousal, the correction
    method with its settings and the disclaimer."""
    result, files = demo_report
    page = files.html.read_text()
    labels = set(result.phases.phase)                                 # the protocol's own labels
    headers = set(re.findall(r"<th>([^<]*)</th>", page)) - labels
    assert "RMSSD (ms)" in headers and "SCR amplitude (µS)" in headers and "Δ HR (bpm)" in headers
    assert not [h for h in headers if re.search(r"[a-z0-9]_[a-z]", h)], headers
    assert not re.search(r"\d+\.\d+ (beats|gaps|segments)", page)      # counts as integers
    assert re.search(r"<td>ecg.rr.nn</td><td>Beats</td><td class=\"num\">\d+</td>", page)
    dashes = re.findall(r"–([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", page)
    assert dashes and not re.search(r">[-–]<", page)                  # no dash without its mark
    assert "LF/HF needs at least 2 min of beats (Task Force 1996)" in page
    for table in re.findall(r"<table>.*?</table></div>(?:<ol class=\"notes\">.*?</ol>)?", page, re.S):
        marks = {int(d.translate(str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹", "0123456789")))
                 for d in re.findall(r"–([⁰¹²³⁴⁵⁶⁷⁸⁹]+)", table)}
        assert len(re.findall(r"<li>", table)) >= max(marks, default=0)   # each mark has its note
    base = result.phases.set_index("phase").loc["baseline", "arousal"]
    assert abs(base) > 0.01 and f"The arousal index of the baseline is {base:+.2f} SD, not 0" in page
    assert "population norms" in page
    assert "Ectopic boundary" in page and "91 beats" in page
    assert "not a diagnosis" in page


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
    page = write_report(result, tmp_path / "report", pdf=False).html.read_text()
    tables = page[page.index("<h2>Per-phase summary</h2>"):page.index("<h2>Event-related")]
    heart = ("hr_bpm", "rmssd_ms", "sdnn_ms", "lf_hf")
    flagged = sum(np.isfinite(phases.loc["stressor", c]) for c in heart)
    changes = result.reactivity.set_index("phase")
    flagged += sum(np.isfinite(changes.loc["stressor", f"d_{c}"]) for c in heart)
    assert flagged >= 2 and tables.count(" !</td>") == flagged
    assert "! poor data: fewer than 80 %" in page
    assert "<h3>Signal quality per phase</h3>" in page
    assert re.search(r'<td>stressor</td><td class="num">\d+</td><td class="num">\d+</td>'
                     r"<td>yes</td>", page)


def test_resonance_assessment_in_the_report(tmp_path):
    """A simulated participant whose RSA peaks at 5.5 breaths/min: the report names that rate."""
    from analysis_data import record_protocol
    from biofeed.protocol.library import load

    path = record_protocol(tmp_path, load("resonance-frequency-assessment"), resonance_bpm=5.5)
    result = analyze(bf.read(path))
    assert result.resonance is not None and result.resonance.rate_bpm == 5.5
    page = write_report(result, tmp_path / "report", pdf=False).html.read_text()
    assert "<h2>Resonance assessment</h2>" in page and "Chosen rate: 5.5 breaths/min" in page
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
    drawn = set(figures_of(page))
    assert {"RR tachogram", "Poincaré plot"} <= drawn
    if table.duration_s[0] >= 60:
        assert "Power spectrum per phase" in drawn
    else:                                            # 50 s of ECG: too short for a spectrum
        assert "Power spectrum per phase (needs a phase with at least 50 s of heart beats)" in page
    assert (tmp_path / f"{stem}_report.pdf").read_bytes().startswith(b"%PDF")
    assert {s.kind for s in bf.read(path, **options).streams.values()} == kinds


def test_analyze_reports_a_bad_file(tmp_path, capsys):
    from biofeed.cli import main

    bad = tmp_path / "notes.csv"
    bad.write_text("a,b\n1,2\n")
    assert main(["analyze", str(bad), "--rate", "100", "--out", str(tmp_path)]) == 2
    assert "notes.csv: no column of a known kind" in " ".join(capsys.readouterr().out.split())


def test_analyze_writes_html_and_pdf_owner_only(demo_session, tmp_path, capsys):
    from biofeed.cli import main

    assert main(["analyze", str(demo_session), "--out", str(tmp_path)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    stem = demo_session.stem
    for name in (f"{stem}_report.html", f"{stem}_report.pdf", f"{stem}_phases.csv"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
    assert f"PDF: {tmp_path / f'{stem}_report.pdf'}" in out
    assert (tmp_path / f"{stem}_report.pdf").read_bytes().startswith(b"%PDF-")


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PDFTOPPM, PDFTOTEXT = shutil.which("pdftoppm"), shutil.which("pdftotext")
#: A colour only (or first) drawn by each figure: matplotlib's tab:blue (RR and HR), tab:green
#: (EDA, breathing), tab:purple (RMSSD bars), tab:red (arousal, corrected beats), tab:orange
#: (SCR onsets, the pacer).
FIGURE_COLOURS = {"tachogram": (31, 119, 180), "EDA": (44, 160, 44), "RMSSD bars": (148, 103, 189),
                  "arousal": (214, 39, 40), "pacer": (255, 127, 14)}


def _colours_drawn(image: np.ndarray) -> None:
    assert image.std() > 0.05                                          # not blank
    # Text and tables are grey on white; each figure adds its own colour, so every colour
    # below shows that its figure was decoded and drawn on the page.
    for figure, rgb in FIGURE_COLOURS.items():
        close = np.abs(image - np.array(rgb) / 255.0).max(axis=2) < 0.08
        assert close.sum() > 100, f"{figure} not rendered ({close.sum()} pixels of its colour)"


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs Debian's "
                                             "chromium package)")
def test_report_renders_in_headless_chromium(demo_report, tmp_path):
    _, files = demo_report
    shot = tmp_path / "report.png"
    subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
                    "--window-size=1200,9000", f"--screenshot={shot}", files.html.as_uri()],
                   check=True, capture_output=True, timeout=90)
    image = imread(shot)[..., :3]
    assert image.shape[:2] == (9000, 1200)
    _colours_drawn(image)
    # the figures span the text column: a row through the tachogram is coloured (phase bands)
    # from the left to the right of the column, about 900 of its 1200 pixels
    non_white = (image.min(axis=2) < 0.97).sum(axis=1)
    assert non_white.max() > 850


@pytest.mark.skipif(PDFTOPPM is None or PDFTOTEXT is None,
                    reason="poppler-utils is not installed (.ci/run installs it)")
def test_report_pdf_renders_with_pdftoppm(demo_report, tmp_path):
    _, files = demo_report
    text = subprocess.run([PDFTOTEXT, "-layout", str(files.pdf), "-"], check=True,
                          capture_output=True, timeout=60, text=True).stdout
    first = text.split("\f")[0]
    for words in ("Session report", "not a diagnosis", "Key numbers per phase", "RMSSD (ms)",
                  "Δ HR (bpm)", "Half-recovery (s)", "coherence needs 64 s", "not 0"):
        assert words in " ".join(first.split()) or words in first, words
    for words in ("RR tachogram", "Power spectrum per phase", "Poincaré plot", "LF/HF needs",
                  "Artifact correction: method and settings", "Protocol timeline"):
        assert words in text, words
    subprocess.run([PDFTOPPM, "-r", "50", "-png", str(files.pdf), str(tmp_path / "page")],
                   check=True, capture_output=True, timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 4
    sizes = {imread(p).shape[:2] for p in pages}
    assert sizes == {(585, 414)}                                       # A4 at 50 dpi, every page
    _colours_drawn(np.concatenate([imread(p)[..., :3] for p in pages], axis=0))
