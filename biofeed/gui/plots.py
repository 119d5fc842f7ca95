"""Scrolling traces: ECG, heart rate (tachogram), skin conductance and respiration.

Protocol phases are shaded along the time axes; corrected beats are marked on the tachogram,
SCR onsets on the EDA trace, and the pacer's target breath is drawn over the respiration.
All x axes are session time in seconds.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg

from ..live import LiveBuffers
from ..protocol.runner import ProtocolRunner
from .style import TRACE, phase_colour

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
        self.artifacts = pg.ScatterPlotItem(size=9, brush=pg.mkBrush(TRACE["artifact"]), pen=None)
        self.plots["hr"].addItem(self.artifacts)
        self.scrs = pg.ScatterPlotItem(size=10, symbol="t1", brush=pg.mkBrush(TRACE["scr"]), pen=None)
        self.plots["eda"].addItem(self.scrs)
        self._bands: dict[tuple[int, str], pg.LinearRegionItem] = {}

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
                band = self._bands.get((ev.id, key))
                if band is None:
                    colour = phase_colour(ev.payload.get("phase_kind", ""), ev.payload.get("stressor", False))
                    band = pg.LinearRegionItem((ev.onset, ev.onset + ev.duration), movable=False,
                                               brush=pg.mkBrush(*colour), pen=pg.mkPen(None))
                    band.setZValue(-10)
                    label = pg.InfLineLabel(band.lines[0], ev.label.replace("_", " "), position=0.92,
                                            anchors=[(0, 0), (0, 0)], color=(60, 60, 60))
                    label.setZValue(-5)
                    self.plots[key].addItem(band)
                    self._bands[(ev.id, key)] = band
                else:
                    band.setRegion((ev.onset, ev.onset + ev.duration))
