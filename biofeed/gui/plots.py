"""Scrolling traces: ECG, heart rate (tachogram), skin conductance and respiration.

Protocol phases are shaded along the time axes, each named at the left edge of what is in
view (a label stays readable while its phase scrolls out); corrected beats are marked on the
tachogram, SCR onsets on the EDA trace (each plot's title is its legend), and the pacer's
target breath is drawn over the respiration. All x axes are session time in seconds.

:class:`SpectrumPlots` shows the HRV power spectrum of the last 120 s
(:mod:`biofeed.gui.spectrum`) with the LF and HF bands and the resonance peak, and the
coherence ratio over the session.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ..live import LiveBuffers
from ..physio.hrv import BANDS
from ..protocol.runner import ProtocolRunner
from .spectrum import MAX_HZ, SPECTRUM_S, nn_spectrum
from .style import BAND_COLOURS, TRACE, phase_colour

#: Phase labels are hidden when less of their phase than this share of the view is in view.
LABEL_MIN_SHARE = 0.06


def _legend(*items: tuple[str, str]) -> str:
    """A plot title naming each mark in its colour: ``(colour, text)`` pairs (fixed text)."""
    return " · ".join(f"<span style='color:{colour}'>{text}</span>" for colour, text in items)

#: (key, y label, seconds shown)
PANELS = (("ecg", "ECG (mV)", 10.0), ("hr", "Heart rate (bpm)", 180.0),
          ("eda", "Skin conductance (µS)", 180.0), ("resp", "Respiration (a.u.)", 30.0))


class SignalPlots(pg.GraphicsLayoutWidget):
    """Four stacked plots fed from :class:`~biofeed.live.LiveBuffers` by :meth:`refresh`."""

    def __init__(self, live: LiveBuffers, runner: ProtocolRunner | None = None) -> None:
        super().__init__()
        self.setBackground("w")
        self.live, self.runner = live, runner
        self.plots: dict[str, pg.PlotItem] = {}
        for row, (key, label, _) in enumerate(PANELS):
            plot = self.addPlot(row=row, col=0)
            plot.setLabel("left", label)
            plot.setLabel("bottom", "session time (s)")
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setTextPen("k")
                plot.getAxis(axis).setPen("k")
            plot.getAxis("left").setWidth(60)
            plot.getAxis("left").enableAutoSIPrefix(False)
            self.plots[key] = plot
        pen = {k: pg.mkPen(TRACE[k], width=1.6) for k in ("ecg", "hr", "eda", "resp")}
        self.curves = {k: self.plots[k].plot(pen=pen[k]) for k in pen}
        for k in ("ecg", "resp"):
            self.curves[k].setClipToView(True)
        self.curves["ecg"].setDownsampling(auto=True, method="peak")
        self.pacer_curve = self.plots["resp"].plot(pen=pg.mkPen(TRACE["pacer"], width=2, style=pg.QtCore.Qt.DashLine))
        # Heart rate drawn over the breath, scaled to it, so RSA phase is visible.
        self.hr_on_resp = self.plots["resp"].plot(pen=pg.mkPen(TRACE["hr"], width=1.4))
        self.plots["resp"].setTitle(
            f"<span style='color:{TRACE['resp']}'>breath</span> · "
            f"<span style='color:{TRACE['pacer']}'>pacer (dashed)</span> · "
            f"<span style='color:{TRACE['hr']}'>heart rate, scaled</span>", size="10pt")
        self.artifacts = pg.ScatterPlotItem(size=9, brush=None,
                                            pen=pg.mkPen(TRACE["artifact"], width=1.6))
        self.plots["hr"].addItem(self.artifacts)
        self.plots["hr"].setTitle(_legend((TRACE["hr"], "heart rate from NN intervals"),
                                          (TRACE["artifact"], "○ corrected beat (artifact)")),
                                  size="10pt")
        self.scrs = pg.ScatterPlotItem(size=10, symbol="t1", brush=pg.mkBrush(TRACE["scr"]), pen=None)
        self.plots["eda"].addItem(self.scrs)
        self.plots["eda"].setTitle(_legend((TRACE["eda"], "skin conductance"),
                                           (TRACE["scr"], "▲ SCR onset")), size="10pt")
        self._bands: dict[tuple[int, str], tuple[pg.LinearRegionItem, pg.TextItem]] = {}

    def _stream(self, *kinds: str) -> str | None:
        for kind in kinds:
            names = self.live.of_kind(kind)
            if names:
                return names[0]
        return None

    def refresh(self, now: float) -> None:
        """Redraw every trace up to session time ``now`` (s)."""
        spans = {k: s for k, _, s in PANELS}
        ecg = self._stream("ecg", "ppg")
        if ecg:
            t, v = self.live.window(ecg, seconds=spans["ecg"])
            self.curves["ecg"].setData(t, v[:, 0])
        nn = self._stream("nn")
        if nn:
            t, v = self.live.window(nn, seconds=spans["hr"] + 10)
            hr = 60000.0 / v[:, 0] if len(v) else v[:, 0]
            self.curves["hr"].setData(t, hr)
            bad = v[:, 1] > 0 if len(v) else np.zeros(0, bool)
            self.artifacts.setData(t[bad], hr[bad])
        eda = self._stream("eda")
        if eda:
            t, v = self.live.window(eda, seconds=spans["eda"])
            self.curves["eda"].setData(t, v[:, 0])
            scr = self._stream("scr")
            if scr and len(t):
                onsets, _ = self.live.window(scr, seconds=spans["eda"] + 30)
                onsets = onsets[onsets >= t[0]]
                self.scrs.setData(onsets, np.interp(onsets, t, v[:, 0]))
        resp = self._stream("resp")
        if resp:
            t, v = self.live.window(resp, seconds=spans["resp"])
            self.curves["resp"].setData(t, v[:, 0])
            self._draw_pacer(t, v[:, 0] if len(v) else v)
            self._draw_hr_on_resp(nn, v[:, 0] if len(v) else v, spans["resp"])
        for key, _, span in PANELS:
            self.plots[key].setXRange(max(0.0, now - span), max(span, now), padding=0)
        self._draw_phases()
        self._place_phase_labels()

    def _draw_pacer(self, t: np.ndarray, resp: np.ndarray) -> None:
        """The pacer's target breath over the respiration, scaled to the trace's range."""
        if self.runner is None or not len(t):
            self.pacer_curve.setData([], [])
            return
        grid = np.arange(t[0], t[-1], 0.1)            # the pacer is smooth: 10 points a second
        states = (self.runner.state_at(float(ti)) for ti in grid)
        target = np.array([np.nan if s is None or s.pacer_volume is None else s.pacer_volume
                           for s in states])
        lo, hi = np.nanpercentile(resp, [2, 98]) if np.isfinite(resp).any() else (0.0, 1.0)
        self.pacer_curve.setData(grid, lo + target * (hi - lo), connect="finite")

    def _draw_hr_on_resp(self, nn: str | None, resp: np.ndarray, seconds: float) -> None:
        if nn is None or not np.isfinite(resp).any():
            return
        t, v = self.live.window(nn, seconds=seconds)
        if len(t) < 2:
            return
        hr = 60000.0 / v[:, 0]
        lo, hi = np.nanpercentile(resp, [2, 98])
        span = max(np.ptp(hr), 1.0)
        self.hr_on_resp.setData(t, lo + (hr - hr.min()) / span * (hi - lo))

    def _draw_phases(self) -> None:
        for ev in self.live.events:
            if ev.kind != "phase":
                continue
            for key in ("hr", "eda"):
                drawn = self._bands.get((ev.id, key))
                if drawn is None:
                    colour = phase_colour(ev.payload.get("phase_kind", ""), ev.payload.get("stressor", False))
                    band = pg.LinearRegionItem((ev.onset, ev.onset + ev.duration), movable=False,
                                               brush=pg.mkBrush(*colour), pen=pg.mkPen(None))
                    band.setZValue(-10)
                    label = pg.TextItem(ev.label.replace("_", " "), color=(50, 50, 50),
                                        anchor=(0, 0))
                    label.setZValue(-5)
                    self.plots[key].addItem(band)
                    self.plots[key].addItem(label, ignoreBounds=True)
                    self._bands[(ev.id, key)] = (band, label)
                else:
                    drawn[0].setRegion((ev.onset, ev.onset + ev.duration))

    def _place_phase_labels(self) -> None:
        """Each phase's name at the top left of the part of its band that is in view, hidden
        when too little of it is (:data:`LABEL_MIN_SHARE`)."""
        for (_, key), (band, label) in self._bands.items():
            (x0, x1), (_, y1) = self.plots[key].viewRange()
            lo, hi = band.getRegion()
            left, right = max(lo, x0), min(hi, x1)
            shown = right - left >= LABEL_MIN_SHARE * (x1 - x0)
            label.setVisible(shown)
            if shown:
                label.setPos(left, y1)


class SpectrumPlots(pg.GraphicsLayoutWidget):
    """The HRV power spectrum of the last :data:`~biofeed.gui.spectrum.SPECTRUM_S` of NN
    (LF and HF shaded, the resonance peak marked with its frequency and rate) beside the
    coherence ratio over the session; :meth:`refresh` redraws both."""

    def __init__(self, live: LiveBuffers) -> None:
        super().__init__()
        self.setBackground("w")
        self.live = live
        self.spectrum = self.addPlot(row=0, col=0)
        self.trend = self.addPlot(row=0, col=1)
        for plot in (self.spectrum, self.trend):
            plot.setMouseEnabled(x=False, y=False)
            plot.hideButtons()
            for axis in ("left", "bottom"):
                plot.getAxis(axis).setTextPen("k")
                plot.getAxis(axis).setPen("k")
            plot.getAxis("left").enableAutoSIPrefix(False)
            plot.getAxis("bottom").enableAutoSIPrefix(False)
        self.ci.layout.setColumnStretchFactor(0, 3)
        self.ci.layout.setColumnStretchFactor(1, 2)
        self.spectrum.setLabel("bottom", "frequency (Hz)")
        self.spectrum.setLabel("left", "NN power (ms²/Hz)")
        self.spectrum.setXRange(0.0, MAX_HZ, padding=0)
        self.spectrum.setTitle(f"HRV spectrum, last {SPECTRUM_S:.0f} s: waiting for 60 s of beats",
                               size="10pt")
        for name, (lo, hi) in (("LF", BANDS["lf"]), ("HF", BANDS["hf"])):
            band = pg.LinearRegionItem((lo, hi), movable=False, pen=pg.mkPen(None),
                                       brush=pg.mkBrush(*BAND_COLOURS[name]))
            band.setZValue(-10)
            self.spectrum.addItem(band)
            pg.InfLineLabel(band.lines[0], name, position=0.93, anchors=[(0, 0), (0, 0)],
                            color=(70, 70, 70))
        self.curve = self.spectrum.plot(pen=pg.mkPen(TRACE["spectrum"], width=2),
                                        fillLevel=0, brush=pg.mkBrush(TRACE["spectrum"] + "40"))
        self.peak = pg.InfiniteLine(angle=90, movable=False,
                                    pen=pg.mkPen(TRACE["peak"], width=2, style=pg.QtCore.Qt.DashLine))
        self.peak.setVisible(False)
        self.spectrum.addItem(self.peak, ignoreBounds=True)
        self.trend.setLabel("bottom", "session time (s)")
        self.trend.setLabel("left", "coherence (ratio)")
        self.trend.setTitle(_legend((TRACE["coherence"], "coherence, 64 s windows")),
                            size="10pt")
        self.coherence = self.trend.plot(pen=pg.mkPen(TRACE["coherence"], width=2),
                                         symbol="o", symbolSize=4,
                                         symbolBrush=pg.mkBrush(TRACE["coherence"]), symbolPen=None)
        self.last = None

    def refresh(self) -> None:
        """Recompute the spectrum from the NN stream and redraw both plots."""
        names = self.live.of_kind("nn")
        self.last = None
        if names:
            _, v = self.live.window(names[0], seconds=SPECTRUM_S)
            self.last = nn_spectrum(v[:, 0]) if len(v) else None
        if self.last is None:
            self.curve.setData([], [])
            self.peak.setVisible(False)
        else:
            sp = self.last
            self.curve.setData(sp.f_hz, sp.psd_ms2_hz)
            self.peak.setValue(sp.peak_hz)
            self.peak.setVisible(bool(np.isfinite(sp.peak_hz)))
            self.spectrum.setTitle(
                _legend((TRACE["spectrum"], f"HRV spectrum, last {SPECTRUM_S:.0f} s: "
                                            f"LF {sp.lf_ms2:.0f} · HF {sp.hf_ms2:.0f} ms²"),
                        (TRACE["peak"], f"peak {sp.peak_hz:.3f} Hz = {sp.peak_per_min:.1f} /min")),
                size="10pt")
        names = self.live.of_kind("coherence")
        if names:
            t, v = self.live.window(names[0])
            ok = np.isfinite(v[:, 0]) if len(v) else np.zeros(0, bool)
            self.coherence.setData(t[ok], v[ok, 0])
