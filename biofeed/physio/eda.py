"""Electrodermal activity: cleaning, tonic/phasic split, SCRs and SCL, online and batch.

Method (all steps causal; the tonic estimate looks ahead by a bounded ``tonic_window_s / 2``):

1. Cleaning: 2nd-order Bessel low-pass at ``lowpass_hz`` (3 Hz; capped at 0.35 fs so it also
   works at 4 Hz). Bessel rather than Butterworth for its nearly constant group delay: a step
   or an SCR onset comes through with 0.4 % overshoot (Butterworth: 4 %) and no ringing, so
   onsets, peaks and the deconvolved driver are not distorted; the price, a gentler roll-off,
   does not matter for a signal band that ends near 1 Hz. (At 4 Hz, with the cutoffs at
   0.25-0.35 fs, the bilinear transform raises the overshoot to 8-13 %.)
2. Driver: the cleaned conductance, smoothed by a second Bessel low-pass
   (``driver_lowpass_hz``), is deconvolved by the Bateman impulse response
   ``exp(-t/tau_decay) - exp(-t/tau_rise)`` (tau 0.75 s and 2 s; Alexander et al. 2005).
   Deconvolution by this two-pole response is a three-tap causal FIR filter; the driver is in
   uS (the response has unit gain at 0 Hz). SCRs become short bursts in the driver even when
   they overlap in conductance (Benedek & Kaernbach 2010).
3. Tonic driver (:mod:`biofeed.physio.tonic`): the level of the driver between its SCR
   impulses over a centred ``tonic_window_s`` window, on block means at about 4 Hz,
   interpolated linearly: impulses (bursts more than 3 MADs above the window's median, with
   their flanks down to the neighbouring minima) are left out, and a least-squares line
   through the rest is taken at the window's centre, or at the grid point's place in a window
   cut short by the start or end of the data. As in the CDA tonic estimate (Benedek &
   Kaernbach 2010) it is the mean driver between the impulses, not a median, so the tonic
   follows a level that falls in ADC steps. Phasic driver = driver - tonic driver.
4. Tonic conductance (SCL) = tonic driver convolved back with the Bateman response; phasic
   conductance = cleaned conductance - tonic.
5. SCRs: bursts of the phasic driver, scored on their individual responses
   (:mod:`biofeed.physio.scr`). The smallest SCR is ``noise_factor`` (5) times the noise
   floor, the median amplitude of the latest 31 bursts of the negated phasic driver (noise
   only: SCRs are positive bursts; those right after an SCR are its lobe and are left out),
   and never below ``min_amplitude_us`` (0.01 uS: Boucsein et al. 2012). In 4 nS of white
   noise at 4, 32 and 100 Hz this lets no noise burst through after the first 10 s in 30 min;
   before the first noise bursts are measured (about 5 s) the 0.01 uS floor is all there is.

Every filter starts from the steady state of the first sample: before its first sample the
conductance is taken as flat at that value. The deconvolution (step 2) and the re-convolution
(step 4) take the same flat past, so the tonic starts at the first cleaned sample and then
follows the tonic driver, whatever the driver does in its first seconds (an SCR at the first
sample, a falling or rising level). :class:`EdaProcessor` starts a new tracker after a gap,
so the same holds after every gap (and the noise floor is measured anew).

References
----------
Alexander, D. M., et al. (2005). J Neurosci Methods 146(1), 116-123.
Benedek, M., & Kaernbach, C. (2010). J Neurosci Methods 190(1), 80-91.
Boucsein, W., et al. (2012). Psychophysiology 49(8), 1017-1034.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import bessel, group_delay, sos2tf, sosfilt, tf2sos

from ..processor import Processor, check_input
from ..stream import Chunk, StreamInfo
from .filters import LinearFilter
from .scr import ONSET_FRACTION, Scr, ScrDetector, bateman_coefficients, scr_columns, scr_table
from .tonic import TonicDriver


def _check_fs(fs: float) -> float:
    try:
        fs = float(fs)
    except (TypeError, ValueError):
        raise ValueError(f"fs must be a sampling rate in Hz (a positive number), got {fs!r}") from None
    if not np.isfinite(fs) or fs <= 0:
        raise ValueError(f"fs must be a sampling rate in Hz (a positive number), got {fs!r}")
    return fs


def _check_eda(x, first_index: int = 0) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"EDA must be a 1-D array of skin conductance in uS, got shape {x.shape}")
    bad = None if np.isfinite(np.add.reduce(x)) else ~np.isfinite(x)   # (the sum is cheaper)
    if bad is not None and bad.any():
        raise ValueError("EDA must be finite skin conductance values in uS; found "
                         f"{int(bad.sum())} NaN/inf samples (first at sample "
                         f"{first_index + int(np.argmax(bad))}). "
                         "Interpolate or cut gaps before processing.")
    return x


def _lowpass(fs: float, cutoff_hz: float) -> np.ndarray:
    """2nd-order Bessel low-pass (-3 dB at the cutoff), as sections; the cutoff is capped at
    0.35 fs."""
    return bessel(2, min(cutoff_hz, 0.35 * fs), btype="low", norm="mag", fs=fs, output="sos")


@dataclass(frozen=True)
class EdaStep:
    """What one :meth:`EdaTracker.update` released.

    Attributes
    ----------
    start : int
        Sample index (0 = first sample given to the tracker) of ``tonic[0]``.
    tonic, phasic : ndarray
        Tonic (SCL) and phasic conductance of the released samples, uS.
    scr : list of Scr
        SCRs completed in this step, in samples (see :class:`biofeed.physio.scr.Scr`).
    """

    start: int
    tonic: np.ndarray
    phasic: np.ndarray
    scr: list[Scr]


class EdaTracker:
    """Online EDA decomposition and SCR detection (causal, bounded look-ahead).

    Feeding a recording in one chunk or in many gives the same output. See the module
    docstring for the method.

    Parameters
    ----------
    fs : float
        Sampling rate, Hz (4 Hz wrist sensors to 1000 Hz lab systems).
    min_amplitude_us : float
        Smallest SCR amplitude reported whatever the noise, uS (0.01: Boucsein et al. 2012).
    noise_factor : float
        SCRs must also be this many times the noise floor: the median amplitude of the latest
        ``noise_bursts`` bursts of the negated phasic driver (see
        :class:`biofeed.physio.scr.ScrDetector`). With 5, white noise at 4-100 Hz gave no
        false SCR after the first 10 s in an hour, at 1000 Hz 0.07 a minute, even with
        ``min_amplitude_us=0``; 0 uses ``min_amplitude_us`` alone.
    noise_bursts : int
        How many of the latest noise bursts the noise floor is the median of (31: about two
        minutes of noise at 15-20 bursts a minute).
    lowpass_hz : float
        Cleaning low-pass cutoff, Hz (capped at 0.35 fs).
    driver_lowpass_hz : float
        Extra low-pass before deconvolution, Hz (capped at 0.35 fs); lower values suppress
        noise, higher values separate close SCRs better.
    tau_rise_s, tau_decay_s : float
        Bateman time constants, seconds (Alexander et al. 2005).
    tonic_window_s : float
        Width of the centred tonic-driver window, seconds; the look-ahead is about half of it.
    recovery_window_s : float
        How long after its peak an SCR's half-recovery is looked for, seconds.
    max_burst_s : float
        Longest a driver burst may last after its peak and still count as one SCR, seconds.
    min_separation_s : float
        Driver bursts peaking closer than this after an SCR's driver peak are part of that
        SCR, seconds.
    """

    def __init__(self, fs: float, *, min_amplitude_us: float = 0.01, noise_factor: float = 5.0,
                 noise_bursts: int = 31, lowpass_hz: float = 3.0,
                 driver_lowpass_hz: float = 1.0, tau_rise_s: float = 0.75, tau_decay_s: float = 2.0,
                 tonic_window_s: float = 8.0,
                 recovery_window_s: float = 10.0, max_burst_s: float = 4.0,
                 min_separation_s: float = 1.5) -> None:
        self.fs = fs = _check_fs(fs)
        if not min_amplitude_us >= 0:
            raise ValueError(f"min_amplitude_us must be >= 0 uS, got {min_amplitude_us!r}")
        if not noise_factor >= 0:
            raise ValueError(f"noise_factor must be >= 0, got {noise_factor!r}")
        if not (isinstance(noise_bursts, (int, np.integer)) and noise_bursts >= 1):
            raise ValueError(f"noise_bursts must be a whole number >= 1, got {noise_bursts!r}")
        self.min_amplitude_us, self.noise_factor, self.noise_bursts = (
            float(min_amplitude_us), float(noise_factor), int(noise_bursts))
        a1, a2, c = bateman_coefficients(fs, tau_rise_s, tau_decay_s)
        clean = _lowpass(fs, lowpass_hz)
        smooth = _lowpass(fs, driver_lowpass_hz)
        inverse = tf2sos(np.array([1.0, -(a1 + a2), a1 * a2]) / c, [1.0, 0.0, 0.0])
        self._clean = LinearFilter(sos=clean)
        # smoothing, then deconvolution (an FIR: it adds only zeros, so one transfer function
        # is as well conditioned as the low-pass alone, and costs one filter call, not two)
        self._driver = LinearFilter(*sos2tf(np.vstack([smooth, inverse])))
        self._reconvolve = LinearFilter([c], [1.0, -(a1 + a2), a1 * a2])
        self._tonic = TonicDriver(fs, tonic_window_s)
        self._xc = np.empty(0)       # cleaned samples awaiting their tonic value
        self._n = 0
        self.delay_s = self._delay(np.vstack([clean, smooth]), fs)
        self._scr = ScrDetector(fs, (a1, a2, c), min_amplitude_us, max_burst_s, recovery_window_s,
                                int(round(self.delay_s * fs)),
                                self._onset_lag(np.vstack([clean, smooth, inverse]), fs, tau_rise_s,
                                                tau_decay_s), min_separation_s, noise_factor,
                                noise_bursts)

    @staticmethod
    def _delay(sos: np.ndarray, fs: float) -> float:
        """Group delay of the low-pass cascade near 0 Hz, seconds."""
        total = 0.0
        for section in sos:
            _, gd = group_delay((section[:3], section[3:]), w=[1e-3], fs=fs)
            total += float(gd[0])
        return total / fs

    @staticmethod
    def _onset_lag(sos: np.ndarray, fs: float, tau_rise_s: float, tau_decay_s: float) -> float:
        """Samples from an ideal response's onset to its driver crossing ``ONSET_FRACTION``."""
        t = np.arange(int(np.ceil(4 * tau_decay_s * fs)) + 8) / fs
        driver = sosfilt(sos, np.exp(-t / tau_decay_s) - np.exp(-t / tau_rise_s))
        level = ONSET_FRACTION * driver.max()
        j = int(np.flatnonzero(driver > level)[0])
        return j - 1 + (level - driver[j - 1]) / (driver[j] - driver[j - 1])

    @property
    def min_amplitude_method(self) -> str:
        """How the smallest SCR amplitude is chosen, in words (for tables and files)."""
        if self.noise_factor == 0:
            return f"fixed: {self.min_amplitude_us:g} uS"
        return (f"max({self.min_amplitude_us:g} uS, {self.noise_factor:g} x the median amplitude "
                f"of the latest {self.noise_bursts} bursts of the negated phasic driver, "
                "measured like SCR amplitudes)")

    @property
    def min_amplitude_range_us(self) -> tuple[float, float]:
        """Lowest and highest smallest-SCR amplitude applied so far, uS (NaN before any)."""
        lo, hi = self._scr.min_amplitude_range
        return (lo, hi) if lo <= hi else (float("nan"), float("nan"))

    @property
    def lookahead_s(self) -> float:
        """Seconds between the newest input sample and the newest tonic/phasic sample."""
        return self._tonic.lookahead / self.fs

    def update(self, x) -> EdaStep:
        """Consume EDA samples (uS) and return what is now final."""
        x = _check_eda(x, self._n)
        xc = self._clean(x)
        if self._n == 0 and xc.size:
            # The driver filter took the conductance before the first sample as flat at its
            # value; so does the re-convolution (its steady state for that value), so the
            # tonic starts at the first cleaned sample, not at the first tonic-driver value.
            self._reconvolve(xc[:1])
        self._n += x.size
        self._xc = np.concatenate([self._xc, xc])
        return self._release(self._tonic.update(self._driver(xc)), final=False)

    def flush(self) -> EdaStep:
        """End of data: release the look-ahead and every pending SCR."""
        return self._release(self._tonic.update(np.empty(0), final=True), final=True)

    def _release(self, released, final: bool) -> EdaStep:
        start, d, tonic_driver = released
        tonic = self._reconvolve(tonic_driver)
        phasic = self._xc[:d.size] - tonic
        self._xc = self._xc[d.size:]
        scr = self._scr.update(d - tonic_driver)
        if final:
            scr += self._scr.flush()
        return EdaStep(start, tonic, phasic, scr)


@dataclass(frozen=True)
class EdaResult:
    """Result of :func:`eda`.

    Attributes
    ----------
    tonic, phasic : ndarray
        Tonic (SCL) and phasic skin conductance, uS, one value per input sample.
    scr : pandas.DataFrame
        One row per SCR (columns :data:`biofeed.physio.scr.SCR_COLUMNS`): ``onset_s``,
        ``peak_s`` (seconds from the first sample), ``amplitude_us`` (uS), ``rise_time_s`` and
        ``half_recovery_s`` (seconds from the peak to half recovery; NaN when not reached
        before the next SCR or within the window) and ``min_amplitude_us`` (the smallest
        amplitude accepted when the SCR was, uS). Its ``attrs`` say how that minimum was
        chosen: ``min_amplitude_method`` (in words), ``min_amplitude_floor_us``,
        ``noise_factor``, ``noise_bursts`` (the :class:`EdaTracker` options) and
        ``min_amplitude_range_us`` (lowest and highest smallest amplitude applied to any
        driver burst, uS).
    fs : float
        Sampling rate, Hz.
    """

    tonic: np.ndarray
    phasic: np.ndarray
    scr: pd.DataFrame
    fs: float

    @property
    def scl(self) -> float:
        """Mean skin conductance level (mean tonic), uS; NaN for empty input."""
        return float(np.mean(self.tonic)) if self.tonic.size else float("nan")

    @property
    def scr_per_min(self) -> float:
        """SCRs per minute over the whole signal; NaN for empty input."""
        minutes = self.tonic.size / self.fs / 60.0
        return len(self.scr) / minutes if minutes > 0 else float("nan")


def eda(eda_us, fs: float, **options) -> EdaResult:
    """Clean EDA, split it into tonic and phasic parts and find SCRs.

    The batch form of :class:`EdaTracker`: one ``update`` over the whole array and a ``flush``,
    so results equal what the online processor produces.

    Parameters
    ----------
    eda_us : array_like
        Skin conductance, uS, 1-D, finite.
    fs : float
        Sampling rate, Hz (> 0).
    **options
        Keyword arguments of :class:`EdaTracker` (e.g. ``min_amplitude_us=0.05``).

    Returns
    -------
    EdaResult
    """
    tracker = EdaTracker(fs, **options)
    steps = [tracker.update(eda_us), tracker.flush()]
    scrs = [r for s in steps for r in s.scr]
    table = scr_table(scrs, tracker.fs)
    table.attrs.update(min_amplitude_method=tracker.min_amplitude_method,
                       min_amplitude_floor_us=tracker.min_amplitude_us,
                       noise_factor=tracker.noise_factor, noise_bursts=tracker.noise_bursts,
                       min_amplitude_range_us=tracker.min_amplitude_range_us)
    return EdaResult(tonic=np.concatenate([s.tonic for s in steps]),
                     phasic=np.concatenate([s.phasic for s in steps]),
                     scr=table, fs=tracker.fs)


def event_related_scr(result_or_signal, fs: float, event_onsets_s, window=(1.0, 4.0),
                      **options) -> pd.DataFrame:
    """The SCR that answers each event: onset within ``window`` seconds after the event.

    When several SCRs start in the window the largest is taken; events without one get
    amplitude 0 (non-response) and NaN times (Boucsein et al. 2012: onset 1-3 s, often 1-4 s
    after the stimulus).

    Parameters
    ----------
    result_or_signal : EdaResult or array_like
        A result of :func:`eda`, or skin conductance in uS (then :func:`eda` runs with
        ``**options``).
    fs : float
        Sampling rate, Hz.
    event_onsets_s : array_like
        Event times, seconds from the first sample.
    window : (float, float)
        Latency window, seconds after the event.

    Returns
    -------
    pandas.DataFrame
        One row per event: ``event_s``, ``amplitude_us``, ``latency_s`` (SCR onset - event),
        ``onset_s``, ``peak_s``, ``rise_time_s``.
    """
    result = result_or_signal if isinstance(result_or_signal, EdaResult) else eda(result_or_signal, fs, **options)
    lo, hi = float(window[0]), float(window[1])
    if not lo < hi:
        raise ValueError(f"window must be (start, end) seconds with start < end, got {window!r}")
    scr = result.scr
    rows = []
    for event in np.asarray(event_onsets_s, dtype=np.float64).reshape(-1):
        latency = scr["onset_s"].to_numpy() - event
        hits = scr[(latency >= lo) & (latency <= hi)]
        if len(hits):
            best = hits.loc[hits["amplitude_us"].idxmax()]
            rows.append((event, best["amplitude_us"], best["onset_s"] - event, best["onset_s"],
                         best["peak_s"], best["rise_time_s"]))
        else:
            rows.append((event, 0.0, np.nan, np.nan, np.nan, np.nan))
    return pd.DataFrame(rows, columns=["event_s", "amplitude_us", "latency_s", "onset_s", "peak_s",
                                       "rise_time_s"])


class EdaProcessor(Processor):
    """Engine processor: one EDA stream in, SCL and SCR streams out.

    Input ``X`` (kind ``"eda"``, unit ``"uS"``, regular). Outputs ``X.scl`` (kind ``"scl"``,
    uS, regular at the input rate, delayed by :attr:`EdaTracker.lookahead_s`) and ``X.scr``
    (kind ``"scr"``, irregular, timestamp = SCR onset in session seconds, channels
    ``amplitude_us``, ``rise_time_s``, ``peak_s`` (session seconds)). A gap in the input (a
    chunk starting more than half a sample away from where the last one ended) flushes the
    tracker and starts a new one at the new chunk, whose tonic starts at the chunk's first
    sample. How small an SCR may be is in :attr:`min_amplitude_method` (the stream has no
    channel for the threshold each SCR met; :func:`eda`'s SCR table has it).

    Parameters
    ----------
    info : StreamInfo
        The EDA input stream.
    **options
        Keyword arguments of :class:`EdaTracker`.
    """

    def __init__(self, info: StreamInfo, **options) -> None:
        check_input(info, "eda", unit="uS")
        self.info, self.options = info, options
        #: How the smallest SCR amplitude is chosen, in words (checks the options, too).
        self.min_amplitude_method = EdaTracker(info.rate, **options).min_amplitude_method
        self.inputs = (info.name,)
        device = info.device
        self.scl_info = StreamInfo(f"{info.name}.scl", "scl", "uS", info.rate, ("value",), device, True)
        self.scr_info = StreamInfo(f"{info.name}.scr", "scr", "uS", 0.0,
                                   ("amplitude_us", "rise_time_s", "peak_s", "min_amplitude_us"),
                                   device, True)
        self.outputs = (self.scl_info, self.scr_info)
        self._tracker: EdaTracker | None = None
        self._t0 = 0.0
        self._expected = 0.0

    def update(self, chunk: Chunk) -> list[Chunk]:
        if chunk.info.name != self.info.name:
            raise ValueError(f"EdaProcessor for {self.info.name!r} got a chunk of {chunk.info.name!r}")
        out: list[Chunk] = []
        if self._tracker is not None and abs(chunk.t0 - self._expected) > 0.5 / self.info.rate:
            out += self.flush()
        if self._tracker is None:
            self._tracker, self._t0 = EdaTracker(self.info.rate, **self.options), chunk.t0
        self._expected = chunk.t_end
        return out + self._emit(self._tracker.update(chunk.values[:, 0]))

    def flush(self) -> list[Chunk]:
        if self._tracker is None:
            return []
        out = self._emit(self._tracker.flush())
        self._tracker = None
        return out

    def _emit(self, step: EdaStep) -> list[Chunk]:
        # SCRs go out before the SCL of the same step: a consumer holding SCL up to T then
        # holds every SCR reported by then (the arousal index counts on it).
        out = []
        fs = self.info.rate
        if step.scr:
            cols = scr_columns(step.scr, fs, self._t0)
            values = np.column_stack([cols[name] for name in self.scr_info.channels])
            out.append(Chunk(self.scr_info, values, float(cols["onset_s"][0]), cols["onset_s"]))
        if step.tonic.size:
            out.append(Chunk(self.scl_info, step.tonic, self._t0 + step.start / fs))
        return out
