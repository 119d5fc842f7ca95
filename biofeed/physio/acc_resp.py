"""Respiration from a chest accelerometer (Polar H10 on the sternum, any 3-axis ACC stream).

The chest wall tilts as the lungs fill, so the gravity vector seen by a sensor strapped to it
turns by a fraction of a degree with every breath (Bates et al. 2010; Charlton et al. 2018:
the accelerometer's respiratory tilt). Per sample:

1. Each axis is band-passed 0.05-0.7 Hz (:func:`~biofeed.physio.resp_derived.resp_band`): its
   first-order 0.05 Hz high-pass removes the gravity estimate (a first-order low-pass, the
   slow mean), the 0.7 Hz low-pass the heart's vibrations and steps.
2. Decimation to ``fs / m`` (``m = floor(fs / 8)``, so 8-16 Hz).
3. The breathing axis: every :data:`HOP_S` (5 s) the first principal component of the last
   :data:`PCA_WINDOW_S` (30 s) of the band-passed three axes, samples beyond :data:`OUTLIER`
   times the window's median magnitude (movement) left out; the samples of that hop are
   projected on it (look-ahead one hop) and clipped at :data:`CLIP_SD` robust SDs. Its sign
   follows the previous axis (positive dot product) so posture changes do not flip the
   waveform.
4. Inhalation up: the projection is inverted when it falls faster than it rises
   (:func:`~biofeed.physio.resp_derived.rise_asymmetry` of the window, averaged over hops with
   weight :data:`EVIDENCE`, below minus
   :data:`~biofeed.physio.resp_derived.ASYMMETRY_FLIP`); inspiration is shorter
   and faster than expiration at rest (Ti/Ttot about 0.4; Tobin et al. 1983). Breathing
   with an inhale:exhale ratio near 1:1 leaves the sign as it was.

References
----------
Bates, A., Ling, M. J., Mann, J., & Arvind, D. K. (2010). Respiratory rate and flow waveform
estimation from tri-axial accelerometer data. Proc BSN 2010, 144-150.
Charlton, P. H., et al. (2018). Breathing rate estimation from the electrocardiogram and
photoplethysmogram: a review. IEEE Rev Biomed Eng 11, 2-20.
Tobin, M. J., et al. (1983). Breathing patterns. 1. Normal subjects. Chest 84(2), 202-205.
"""
from __future__ import annotations

import math

import numpy as np

from ..processor import Processor, check_input
from ..stream import Chunk, StreamInfo
from .filters import HoldLast, SignalBuffer
from .resp_derived import (ASYMMETRY_FLIP, ModulationFusion, rate_stream_info, resp_band,
                            rise_asymmetry_of)

__all__ = ["AccRespiration", "AccRespProcessor", "acc_resp"]

#: Axis update period and PCA window, s.
HOP_S = 5.0
PCA_WINDOW_S = 30.0
#: Samples of the PCA window whose band-passed acceleration exceeds this multiple of the
#: window's median are movement, not breathing: left out of the axis and the sign.
OUTLIER = 4.0
#: The output is clipped at this many robust SDs (1.4826 x median absolute deviation) of the
#: window's projection, so a movement burst does not swamp the breath detector's amplitude
#: estimate (a breath's peak is sqrt(2) SD from the mean).
CLIP_SD = 3.0
#: Weight of each hop's rise asymmetry in the running evidence for the sign (an exponential
#: average over about 10 hops, 50 s).
EVIDENCE = 0.1
#: Output rate target, Hz (the decimation factor is floor(fs / this)).
TARGET_HZ = 8.0


class AccRespiration:
    """Causal chest-accelerometer respiration (see module notes); chunk-size invariant.

    :meth:`update` takes consecutive rows ``(n, 3)`` (any unit) and returns the new output
    samples (a hop at a time) and the rate rows of :class:`ModulationFusion` (one source
    named ``acc``); :meth:`flush` projects what is left of the last hop.

    Parameters
    ----------
    fs : float
        Sampling rate of the accelerometer, Hz (>= 4).
    """

    def __init__(self, fs: float) -> None:
        if not fs >= 4.0:
            raise ValueError(f"accelerometer rate must be >= 4 Hz, got {fs!r}")
        self.fs = float(fs)
        self.m = max(1, math.floor(fs / TARGET_HZ))
        self.fs_out = self.fs / self.m
        self._fill = [HoldLast() for _ in range(3)]
        self._band = [resp_band(fs) for _ in range(3)]
        self._n_in = 0
        self._hop = round(HOP_S * self.fs_out)
        self._win = round(PCA_WINDOW_S * self.fs_out)
        self._buf = SignalBuffer(columns=3)     # decimated band-passed axes
        self._done = 0                          # output samples given out
        self._axis: np.ndarray | None = None
        self._asym = 0.0                        # running rise asymmetry of the projection
        self.fusion = ModulationFusion(("acc",), anchor=None, min_sources=1, fs=self.fs_out)

    def update(self, xyz) -> tuple[np.ndarray, list]:
        """Next rows (n, 3) -> (new output samples, new rate rows)."""
        xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
        if len(xyz):
            cols = [band(fill(xyz[:, c])) for c, (band, fill) in
                    enumerate(zip(self._band, self._fill))]
            first = (-self._n_in) % self.m
            self._n_in += len(xyz)
            self._buf.append(np.column_stack(cols)[first::self.m])
        parts = []
        while self._buf.end - self._done >= self._hop:
            parts.append(self._project(self._done + self._hop))
        return self._out(parts)

    def flush(self) -> tuple[np.ndarray, list]:
        """End of data: the samples of the last, partial hop."""
        return self._out([self._project(self._buf.end)] if self._buf.end > self._done else [])

    def _out(self, parts: list[np.ndarray]) -> tuple[np.ndarray, list]:
        if not parts:
            return np.empty(0), []
        y = np.concatenate(parts)
        _, rates = self.fusion.update(self._done - len(y), y[:, None])
        return y, rates

    def _project(self, end: int) -> np.ndarray:
        """Project output samples ``[done, end)`` on the axis of the window ending at ``end``."""
        data = self._buf.window(max(end - self._win, self._buf.start), end)
        mag = np.sqrt(np.einsum("ij,ij->i", data, data))
        calm = mag <= OUTLIER * np.median(mag) if len(mag) else mag > 0
        use = data[calm] if calm.sum() > 3 else data
        c = np.cov(use.T) if len(use) > 1 else np.eye(3)
        _, v = np.linalg.eigh(c)
        axis = v[:, -1]
        if self._axis is not None and axis @ self._axis < 0:
            axis = -axis
        proj = data @ axis
        slope_ok = calm[1:] & calm[:-1]
        if slope_ok.sum() > 3:             # evidence for the sign, accumulated over hops
            self._asym += EVIDENCE * (rise_asymmetry_of(np.diff(proj)[slope_ok]) - self._asym)
            if self._asym < -ASYMMETRY_FLIP:
                axis, proj, self._asym = -axis, -proj, -self._asym
        self._axis = axis
        y = self._buf.window(self._done, end) @ axis
        spread = 1.4826 * np.median(np.abs(proj[calm] - np.median(proj[calm]))) \
            if calm.any() else 0.0
        if spread > 0:                      # movement bursts clipped to the breathing range
            np.clip(y, -CLIP_SD * spread, CLIP_SD * spread, out=y)
        self._done = end
        self._buf.discard_before(end - self._win)
        return y


def acc_resp(acc_xyz, fs: float, rates: bool = False):
    """Respiration (inhalation up, the accelerometer's unit) of a whole chest-accelerometer
    record: what :class:`AccRespProcessor` gives live.

    Parameters
    ----------
    acc_xyz : array_like, shape (n, 3)
        Acceleration, any unit (g, mG).
    fs : float
        Sampling rate, Hz.

    Returns
    -------
    resp : ndarray
        Sample ``k`` at ``k / fs_resp`` s from the first ACC sample.
    fs_resp : float
        ``fs / floor(fs / 8)`` Hz (8-16 Hz).
    table : pandas.DataFrame, only with ``rates=True``
        Rate and quality per 60 s window (``t_end_s`` from the first sample), the channels of
        the live ``X.resp.rate`` stream.
    """
    core = AccRespiration(fs)
    y, r1 = core.update(acc_xyz)
    z, r2 = core.flush()
    resp = np.concatenate((y, z))
    if not rates:
        return resp, core.fs_out
    import pandas as pd

    rows = r1 + r2
    ch = rate_stream_info("acc.resp.rate", ("acc",), "").channels
    table = pd.DataFrame([r for _, r in rows], columns=ch)
    table.insert(0, "t_end_s", [k / core.fs_out for k, _ in rows])
    return resp, core.fs_out, table


class AccRespProcessor(Processor):
    """Engine processor: ACC stream ``X`` (kind ``acc``, 3 channels) -> ``X.resp`` (kind
    ``resp``, the ACC's unit, ``fs / floor(fs / 8)`` Hz, channel ``resp``) and ``X.resp.rate``
    (kind ``resp_rate``, one source ``acc``; see
    :func:`~biofeed.physio.resp_derived.rate_stream_info`). Look-ahead :data:`HOP_S`. A gap
    in the input starts over."""

    def __init__(self, info: StreamInfo) -> None:
        check_input(info, "acc", 2)
        self.info = info
        self.inputs = (info.name,)
        probe = AccRespiration(info.rate)
        device = f"ACC({info.name})"
        self.outputs = (StreamInfo(f"{info.name}.resp", "resp", info.unit, probe.fs_out,
                                   ("resp",), device, derived=True),
                        rate_stream_info(f"{info.name}.resp.rate", ("acc",), device))
        self._core: AccRespiration | None = None
        self._t0 = self._expected = math.nan

    def update(self, chunk: Chunk) -> list[Chunk]:
        if not len(chunk):
            return []
        out: list[Chunk] = []
        if self._core is None or abs(chunk.t0 - self._expected) > 0.5 / self.info.rate:
            out += self.flush()
            self._core, self._t0, self._sent = AccRespiration(self.info.rate), chunk.t0, 0
        self._expected = chunk.t_end
        return out + self._chunks(*self._core.update(chunk.values[:, :3]))

    def flush(self) -> list[Chunk]:
        if self._core is None:
            return []
        out = self._chunks(*self._core.flush())
        self._core = None
        return out

    def _chunks(self, y: np.ndarray, rates: list) -> list[Chunk]:
        out = []
        fs = self._core.fs_out
        if len(y):
            out.append(Chunk(self.outputs[0], y, self._t0 + self._sent / fs))
            self._sent += len(y)
        if rates:
            t = self._t0 + np.array([k for k, _ in rates]) / fs
            out.append(Chunk(self.outputs[1], np.array([r for _, r in rates]), float(t[0]), t))
        return out
