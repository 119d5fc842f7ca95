"""Heart-rate-variability indices of an NN series (Task Force 1996; Shaffer & Ginsberg 2017).

Every index, its unit and its meaning are listed in :data:`HRV_INDICES` (the order of
:data:`HRV_KEYS`, the channels of the live HRV stream). Intervals and SDs are in ms, powers in
ms^2 (natural logs of ms^2 for ``ln_*``), frequencies in Hz, heart rates in bpm, pNN50,
relative and normalised powers in %, Baevsky's stress index in %/s^2 (Kubios reports its
square root, ``stress_index_sqrt``), PNS/SNS indices in SDs of the norm.

Spectra (:mod:`biofeed.physio.spectrum`): the NN series resampled at 4 Hz by a natural cubic
spline through the beat times; Welch's method with Hann segments of 256 s (a fifth of the
series for series under 1280 s, at least 60 s), linearly detrended, overlapping by about half
and laid from the first sample to the last; and Burg's AR spectrum of order 16 of the series
resampled at 1 Hz (keys ending ``_ar``). Bands: :data:`BANDS`; total power = VLF + LF + HF.

Minimum windows. An index is NaN when the NN series spans (``sum(nn_ms)``) less than its
minimum duration (:data:`MIN_SPAN_S`): 10 s for the time-domain and Poincare indices and the
PNS index (Munoz et al. 2015), 60 s for HF power and peak and for the stress and SNS indices,
120 s for LF power and peak and every LF/HF combination, 300 s for VLF power and for total
and relative powers (Task Force 1996; Shaffer & Ginsberg 2017); 120 s for the triangular
index, TINN and the entropies (shorter series give histograms and template counts too
small to mean anything; the Task Force recommends 20 min for the geometric indices), and
DFA alpha1 / alpha2 need 64 / 256 beats (:mod:`biofeed.physio.nonlinear`). A series reaching
:data:`SPAN_TOLERANCE` (95 %) of a minimum qualifies, so a sliding window of exactly that
length is not rejected for the part of a beat it misses. Minimum and maximum HR need 5 beats.
"""
from __future__ import annotations

import math

import numpy as np

from ..stream import StreamInfo
from .geometric import tinn, triangular_index
from .nonlinear import dfa_alpha1, dfa_alpha2, entropies
from .rr import GridProcessor
from .spectrum import (AR_ORDER, AR_RESAMPLE_HZ, RESAMPLE_HZ, SEGMENT_S, ar_band_powers, ar_model, checked_nn,
                       frequencies, resampled, welch, welch_layout)

#: Frequency bands, Hz (Task Force 1996); lower edge included, upper excluded.
BANDS = {"vlf": (0.0033, 0.04), "lf": (0.04, 0.15), "hf": (0.15, 0.40)}

_SPECTRAL = {
    "vlf": ("ms^2", "VLF power, 0.0033-0.04 Hz"),
    "lf": ("ms^2", "LF power, 0.04-0.15 Hz"),
    "hf": ("ms^2", "HF power, 0.15-0.40 Hz"),
    "total_power": ("ms^2", "total power, VLF + LF + HF"),
    "vlf_pct": ("%", "VLF power, % of total power"),
    "lf_pct": ("%", "LF power, % of total power"),
    "hf_pct": ("%", "HF power, % of total power"),
    "ln_vlf": ("ln(ms^2)", "natural log of VLF power"),
    "ln_lf": ("ln(ms^2)", "natural log of LF power"),
    "ln_hf": ("ln(ms^2)", "natural log of HF power"),
    "lfnu": ("%", "LF power in normalised units, LF / (LF + HF)"),
    "hfnu": ("%", "HF power in normalised units, HF / (LF + HF)"),
    "lf_hf": ("", "LF/HF power ratio"),
    "vlf_peak": ("Hz", "frequency of the VLF peak"),
    "lf_peak": ("Hz", "frequency of the LF peak"),
    "hf_peak": ("Hz", "frequency of the HF peak"),
}

#: Every index: key -> (unit, description), in :data:`HRV_KEYS` order.
HRV_INDICES: dict[str, tuple[str, str]] = {
    "mean_nn": ("ms", "mean NN interval"),
    "sdnn": ("ms", "SD of the NN intervals"),
    "rmssd": ("ms", "root mean square of successive NN differences"),
    "pnn50": ("%", "successive NN differences above 50 ms"),
    "nn50": ("", "number of successive NN differences above 50 ms"),
    "mean_hr": ("bpm", "mean heart rate, 60000 / mean NN"),
    "sd_hr": ("bpm", "SD of the instantaneous heart rate"),
    "min_hr": ("bpm", "lowest heart rate, 5-beat moving average"),
    "max_hr": ("bpm", "highest heart rate, 5-beat moving average"),
    "tri_index": ("", "HRV triangular index, NN count / histogram height (1/128 s bins)"),
    "tinn": ("ms", "base width of the triangle fitted to the NN histogram (TINN)"),
    **_SPECTRAL,
    **{f"{key}_ar": (unit, f"{text} (AR spectrum)") for key, (unit, text) in _SPECTRAL.items()},
    "sd1": ("ms", "Poincare SD1, across the identity line"),
    "sd2": ("ms", "Poincare SD2, along the identity line"),
    "sd2_sd1": ("", "ratio SD2 / SD1"),
    "apen": ("", "approximate entropy, m = 2, r = 0.2 SD"),
    "sampen": ("", "sample entropy, m = 2, r = 0.2 SD"),
    "dfa_alpha1": ("", "DFA short-term scaling exponent, 4-16 beats"),
    "dfa_alpha2": ("", "DFA long-term scaling exponent, 16-64 beats"),
    "stress_index": ("%/s^2", "Baevsky's stress index"),
    "stress_index_sqrt": ("", "square root of Baevsky's stress index (Kubios)"),
    "pns_index": ("SD", "parasympathetic index (SDs of the norm)"),
    "sns_index": ("SD", "sympathetic index (SDs of the norm)"),
}
#: Keys of :func:`hrv`, in output-channel order.
HRV_KEYS = tuple(HRV_INDICES)

#: Minimum span of the NN series, s, per group of indices (see module notes).
MIN_SPAN_S = {"time": 10.0, "hf": 60.0, "stress": 60.0, "lf": 120.0, "vlf": 300.0,
              "distribution": 120.0}
#: Fraction of a minimum span that is accepted.
SPAN_TOLERANCE = 0.95
#: Longest series whose entropies :func:`hrv` computes, beats (about 5 h at 70 bpm; see
#: :func:`hrv_nonlinear`).
ENTROPY_MAX_BEATS = 20000
#: Beats of the moving average behind the minimum and maximum HR (Kubios).
HR_AVERAGE_BEATS = 5

#: Normative values (mean, SD) of the PNS/SNS inputs. Mean RR, RMSSD: Nunan et al. (2010).
#: Mean HR = 60000 / mean RR, SD by the delta method (60000 * 90 / 926^2). SD1 and SD2 in
#: normalised units (% of mean NN, as Kubios' inputs): SD1 = RMSSD / sqrt(2) = 29.7 ms and
#: SD2 = sqrt(2 SDNN^2 - SD1^2) = 64.2 ms from Nunan's SDNN 50 +/- 16 ms, divided by 926 ms,
#: with the coefficients of variation of RMSSD (0.357) and SDNN (0.32). sqrt(SI): Baevsky &
#: Chernikova (2017) give SI 50-150 as the normal resting range, taken as 9.5 +/- 2.5.
NORMS = {"mean_nn": (926.0, 90.0), "rmssd": (42.0, 15.0), "sd1_pct": (3.21, 1.15),
         "mean_hr": (64.8, 6.3), "sd2_pct": (6.93, 2.22), "sqrt_si": (9.5, 2.5)}

_TIME_KEYS = ("mean_nn", "sdnn", "rmssd", "pnn50", "nn50", "mean_hr", "sd_hr", "min_hr",
              "max_hr", "sd1", "sd2", "sd2_sd1", "stress_index", "stress_index_sqrt",
              "pns_index", "sns_index")
_FREQ_KEYS = tuple(_SPECTRAL) + tuple(f"{key}_ar" for key in _SPECTRAL)
_GEOMETRIC_KEYS = ("tri_index", "tinn")
_NONLINEAR_KEYS = ("apen", "sampen", "dfa_alpha1", "dfa_alpha2")
#: Indices the live stream recomputes every ``slow_period_s``: AR, geometric and nonlinear.
_SLOW_KEYS = _FREQ_KEYS[len(_SPECTRAL):] + _GEOMETRIC_KEYS + _NONLINEAR_KEYS

_TIME_COLUMNS = [HRV_KEYS.index(key) for key in _TIME_KEYS]
_WELCH_COLUMNS = [HRV_KEYS.index(key) for key in _SPECTRAL]
_SLOW_COLUMNS = [HRV_KEYS.index(key) for key in _SLOW_KEYS]

#: Intervals per block of the time-domain sums and the stress-index histogram (bounds their
#: temporaries; a live window is one block).
_TIME_BLOCK = 16384


def _qualifies(span_s: float, group: str) -> bool:
    return span_s >= SPAN_TOLERANCE * MIN_SPAN_S[group]


def stress_index(nn_ms) -> float:
    """Baevsky's stress index SI = AMo / (2 Mo MxDMn) (Baevsky & Chernikova 2017).

    Histogram of 50 ms bins with edges at multiples of 50 ms; AMo = % of intervals in the modal
    bin (the shortest one on ties), Mo = centre of that bin (s), MxDMn = max - min interval (s).

    Parameters
    ----------
    nn_ms : array_like
        NN intervals, ms.

    Returns
    -------
    float
        SI in %/s^2 (Kubios reports its square root); NaN when all intervals are equal.
    """
    nn, lo, hi = checked_nn(nn_ms)
    if nn.size == 0:
        return math.nan
    return _stress_index(nn, lo, hi)


def _stress_index(nn: np.ndarray, lo: float, hi: float) -> float:
    """:func:`stress_index` of validated intervals with minimum ``lo`` and maximum ``hi`` (ms);
    the histogram is counted in blocks of :data:`_TIME_BLOCK` intervals."""
    if hi == lo:
        return math.nan
    first = math.floor(lo / 50.0)  # lowest bin
    size = math.floor(hi / 50.0) - first + 1
    counts = None
    for a in range(0, nn.size, _TIME_BLOCK):
        # bin - first: x / 50 - first is exact and >= 0, so truncation is the floor
        block = np.bincount((nn[a:a + _TIME_BLOCK] / 50.0 - first).astype(np.int64),
                            minlength=size)
        counts = block if counts is None else counts + block
    mode = int(counts.argmax())
    amo = 100.0 * int(counts[mode]) / nn.size
    mo = ((mode + first) * 50.0 + 25.0) / 1000.0
    return float(amo / (2.0 * mo * (hi - lo) / 1000.0))


def autonomic_indices(mean_nn: float, rmssd: float, sd1: float, mean_hr: float, sd2: float,
                      si: float) -> tuple[float, float]:
    """PNS and SNS indices after Kubios' published method, on the norms :data:`NORMS`.

    Kubios (Kubios HRV user's guide; Tarvainen et al. 2014) compares mean RR, RMSSD and SD1 in
    normalised units (PNS) and mean HR, the square root of Baevsky's stress index and SD2 in
    normalised units (SNS) with normal values (Nunan et al. 2010) in SDs of the norm and
    combines them with weights it does not publish. Here: PNS = mean of z(mean NN),
    z(RMSSD), z(SD1 %); SNS = mean of z(mean HR), z(sqrt SI), -z(SD2 %), where z(x) = (x - norm
    mean) / norm SD and SDx % = SDx / mean NN * 100; 0 is the population mean and +1 one SD
    towards more parasympathetic (PNS) or sympathetic (SNS) activity. The equal weights and the
    SD1/SD2/sqrt(SI) norms (derived in :data:`NORMS`) are this project's, so values follow
    Kubios' in sign and scale but not to the decimal.

    Parameters
    ----------
    mean_nn, rmssd, sd1, sd2 : float
        ms.
    mean_hr : float
        bpm.
    si : float
        Baevsky stress index, %/s^2.

    Returns
    -------
    pns_index, sns_index : float
    """
    def z(key, x):
        mean, sd = NORMS[key]
        return (x - mean) / sd

    pns = (z("mean_nn", mean_nn) + z("rmssd", rmssd) + z("sd1_pct", 100.0 * sd1 / mean_nn)) / 3.0
    sns = (z("mean_hr", mean_hr) + z("sqrt_si", math.sqrt(si))
           - z("sd2_pct", 100.0 * sd2 / mean_nn)) / 3.0
    return pns, sns


def hrv_time(nn_ms) -> dict[str, float]:
    """Time-domain, Poincare, stress and autonomic indices.

    Parameters
    ----------
    nn_ms : array_like
        Successive NN intervals, ms.

    Returns
    -------
    dict
        ``mean_nn`` (ms), ``sdnn`` (ms, ddof=1), ``rmssd`` (ms), ``pnn50`` (% of successive
        differences > 50 ms), ``nn50`` (their number), ``mean_hr`` (60000 / mean NN, bpm),
        ``sd_hr`` (SD of 60000 / NN, ddof=1, bpm), ``min_hr``/``max_hr`` (extremes of the
        5-beat moving average of 60000 / NN, bpm; Kubios), ``sd1`` = SDSD / sqrt(2) and
        ``sd2`` = sqrt(2 SDNN^2 - SD1^2) (ms; Brennan et al. 2001), ``sd2_sd1``,
        ``stress_index`` (:func:`stress_index`) and its square root ``stress_index_sqrt``,
        ``pns_index``, ``sns_index`` (:func:`autonomic_indices`). NaN where the span is below
        the minimum (module notes).
    """
    return dict(zip(_TIME_KEYS, _time_values(*checked_nn(nn_ms))))


def _time_values(nn: np.ndarray, lo: float, hi: float) -> list[float]:
    """:func:`hrv_time` of validated intervals (minimum ``lo``, maximum ``hi``, ms), in
    :data:`_TIME_KEYS` order.

    Sums of squares are taken over blocks of :data:`_TIME_BLOCK` intervals (so temporaries do
    not grow with the series); the SD of the successive differences combines the blocks' sums
    of squared deviations from their own means (Chan et al. 1979). Scalar arithmetic on dot
    products: the live HRV calls this every second on a single block.
    """
    n = nn.size
    total = float(nn.sum())
    if n < 3 or not _qualifies(total / 1000.0, "time"):
        return [math.nan] * len(_TIME_KEYS)
    mean_nn = total / n
    mean_hr = 60000.0 / mean_nn
    ss_nn = ss_diff = mean_diff = m2_diff = sum_hr = ss_hr = 0.0  # m2: about mean_diff
    n_diff = n_over_50 = 0
    min_hr, max_hr = math.inf, -math.inf
    w = HR_AVERAGE_BEATS
    for a in range(0, n, _TIME_BLOCK):
        block = nn[a:a + _TIME_BLOCK]
        dev = block - mean_nn
        ss_nn += float(dev @ dev)
        hr = 60000.0 / nn[a:a + _TIME_BLOCK + w - 1]     # the next block's first w - 1 too
        dev = hr[:block.size] - mean_hr                  # (about mean_hr: no cancellation)
        sum_hr += float(dev.sum())
        ss_hr += float(dev @ dev)
        if hr.size >= w:
            c = np.cumsum(hr)
            avg = np.concatenate(((c[w - 1],), c[w:] - c[:-w])) / w
            min_hr, max_hr = min(min_hr, float(avg.min())), max(max_hr, float(avg.max()))
        e = min(a + _TIME_BLOCK, n - 1)
        if e == a:
            continue
        diff = nn[a + 1:e + 1] - nn[a:e]
        ss_diff += float(diff @ diff)
        n_over_50 += int(np.count_nonzero(np.abs(diff) > 50.0))
        mean_b = float(diff.sum()) / (e - a)
        dev = diff - mean_b
        delta, n_diff = mean_b - mean_diff, n_diff + e - a
        m2_diff += float(dev @ dev) + delta * delta * (n_diff - e + a) * (e - a) / n_diff
        mean_diff += delta * (e - a) / n_diff
    if n < w:
        min_hr = max_hr = math.nan
    sdnn = math.sqrt(ss_nn / (n - 1))
    rmssd = math.sqrt(ss_diff / (n - 1))
    sd1 = math.sqrt(m2_diff / (n - 2) / 2.0)
    sd2 = math.sqrt(max(2.0 * sdnn * sdnn - sd1 * sd1, 0.0))
    sd_hr = math.sqrt(max(ss_hr - sum_hr * sum_hr / n, 0.0) / (n - 1))
    si = _stress_index(nn, lo, hi) if _qualifies(total / 1000.0, "stress") else math.nan
    pns, sns = autonomic_indices(mean_nn, rmssd, sd1, mean_hr, sd2, si)
    return [mean_nn, sdnn, rmssd, 100.0 * n_over_50 / (n - 1), float(n_over_50), mean_hr,
            sd_hr, min_hr, max_hr, sd1, sd2, sd2 / sd1 if sd1 > 0 else math.nan, si,
            math.sqrt(si), pns, sns]


def hrv_frequency(nn_ms, *, fs: float = RESAMPLE_HZ, segment_s: float = SEGMENT_S,
                  order: int = AR_ORDER) -> dict[str, float]:
    """Frequency-domain indices: Welch's and Burg's AR spectra of the resampled NN series.

    See :mod:`biofeed.physio.spectrum` for the resampling, the Welch segments and the AR
    model. The 4 Hz series is produced in blocks and consumed by Welch's method as it comes;
    the AR model needs the whole 1 Hz series (8 bytes a sample: 0.7 MB for 24 h).

    Parameters
    ----------
    nn_ms : array_like
        Successive NN intervals, ms.
    fs : float
        Resampling rate, Hz (4 Hz, Task Force 1996).
    segment_s : float
        Welch segment length of long series, s (see :func:`~biofeed.physio.spectrum.welch_layout`).
    order : int
        AR model order (16, Kubios' default).

    Returns
    -------
    dict
        Keys :data:`_FREQ_KEYS`: for each spectrum (Welch; AR with suffix ``_ar``) ``vlf``,
        ``lf``, ``hf`` (ms^2; density summed over ``lo <= f < hi`` times the bin width,
        bands :data:`BANDS`), ``total_power`` (their sum), ``vlf_pct``, ``lf_pct``,
        ``hf_pct`` (% of the total), ``ln_vlf``, ``ln_lf``, ``ln_hf`` (ln ms^2; NaN for zero
        power), ``lfnu`` = LF / (LF + HF) * 100, ``hfnu`` (%), ``lf_hf``, ``vlf_peak``,
        ``lf_peak``, ``hf_peak`` (Hz of the density maximum in the band). NaN where the span
        is below the minimum (module notes).
    """
    return dict(zip(_FREQ_KEYS, _frequency_values(checked_nn(nn_ms)[0], fs, segment_s, order)))


def _grid_bands(f: np.ndarray, p: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
    """Power (density sum times bin width) and peak frequency of :data:`BANDS` in density
    ``p`` on the evenly spaced frequencies ``f`` (Hz, from 0)."""
    df = float(f[1] - f[0])
    power, peak = {}, {}
    for name, edges in BANDS.items():
        lo, hi = (int(i) for i in np.searchsorted(f, edges))
        x = p[lo:hi]
        power[name], peak[name] = float(np.add.reduce(x) * df), float(f[lo + x.argmax()])
    return power, peak


def _band_values(power: dict[str, float], peak: dict[str, float], span: float) -> list[float]:
    """The :data:`_SPECTRAL` values from band powers and peaks, NaN where the span ``span``
    (s) is too short."""
    out = dict.fromkeys(_SPECTRAL, math.nan)

    def ln(x):
        return math.log(x) if x > 0 else math.nan

    out.update(hf=power["hf"], ln_hf=ln(power["hf"]), hf_peak=peak["hf"])
    if _qualifies(span, "lf"):
        lf, hf = power["lf"], power["hf"]
        out.update(lf=lf, ln_lf=ln(lf), lf_peak=peak["lf"])
        if hf > 0:                                        # undefined without HF power
            out["lf_hf"] = lf / hf
        if lf + hf > 0:
            out.update(lfnu=100.0 * lf / (lf + hf), hfnu=100.0 * hf / (lf + hf))
    if _qualifies(span, "vlf"):
        total = power["vlf"] + power["lf"] + power["hf"]
        out.update(vlf=power["vlf"], ln_vlf=ln(power["vlf"]), vlf_peak=peak["vlf"],
                   total_power=total)
        if total > 0:
            out.update({f"{name}_pct": 100.0 * power[name] / total for name in BANDS})
    return list(out.values())


def _frequency_values(nn: np.ndarray, fs: float = RESAMPLE_HZ, segment_s: float = SEGMENT_S,
                      order: int = AR_ORDER) -> list[float]:
    """:func:`hrv_frequency` of validated intervals, in :data:`_FREQ_KEYS` order."""
    return _welch_values(nn, fs, segment_s) + _ar_values(nn, order)


def _welch_values(nn: np.ndarray, fs: float = RESAMPLE_HZ,
                  segment_s: float = SEGMENT_S) -> list[float]:
    """Welch's :data:`_SPECTRAL` values of validated intervals."""
    span = nn.sum() / 1000.0
    if nn.size < 2 or not _qualifies(span, "hf"):    # (one interval has nothing to resample)
        return [math.nan] * len(_SPECTRAL)
    n_samples, blocks = resampled(nn, fs)
    nperseg, starts, nfft = welch_layout(n_samples, fs, segment_s)
    p = welch(blocks, fs, nperseg, nfft, starts)
    return _band_values(*_grid_bands(frequencies(nfft, fs), p), span)


def _ar_values(nn: np.ndarray, order: int = AR_ORDER) -> list[float]:
    """The AR spectrum's :data:`_SPECTRAL` values of validated intervals."""
    span = nn.sum() / 1000.0
    if nn.size < 2 or not _qualifies(span, "hf"):
        return [math.nan] * len(_SPECTRAL)
    n_ar, blocks = resampled(nn, AR_RESAMPLE_HZ)
    if n_ar <= order:
        return [math.nan] * len(_SPECTRAL)
    x = np.concatenate(list(blocks))
    return _band_values(*ar_band_powers(*ar_model(x, order), AR_RESAMPLE_HZ, BANDS), span)


def hrv_geometric(nn_ms) -> dict[str, float]:
    """HRV triangular index and TINN (ms) of the 1/128 s NN histogram (Task Force 1996;
    :mod:`biofeed.physio.geometric`); NaN for a span under 120 s."""
    return dict(zip(_GEOMETRIC_KEYS, _geometric_values(checked_nn(nn_ms)[0])))


def _geometric_values(nn: np.ndarray) -> list[float]:
    if not _qualifies(nn.sum() / 1000.0, "distribution"):
        return [math.nan] * len(_GEOMETRIC_KEYS)
    return [triangular_index(nn), tinn(nn)]


def hrv_nonlinear(nn_ms) -> dict[str, float]:
    """Approximate and sample entropy (m = 2, r = 0.2 SD; Pincus 1991, Richman & Moorman 2000)
    and DFA alpha1 (4-16 beats) and alpha2 (16-64 beats; Peng et al. 1995), all dimensionless
    (:mod:`biofeed.physio.nonlinear`).

    Entropies are NaN for a span under 120 s and for series over :data:`ENTROPY_MAX_BEATS`
    beats: their cost grows with the square of the length (9 s for 100,000 beats, as long
    as the rest of a 24 h analysis ten times over), and over a whole day r = 0.2 SD mixes
    sleep and waking. Call :func:`biofeed.physio.nonlinear.sample_entropy` on a long series
    to have it anyway. DFA is NaN under 64 / 256 beats.
    """
    return dict(zip(_NONLINEAR_KEYS, _nonlinear_values(checked_nn(nn_ms)[0])))


def _nonlinear_values(nn: np.ndarray) -> list[float]:
    if _qualifies(nn.sum() / 1000.0, "distribution") and nn.size <= ENTROPY_MAX_BEATS:
        apen, sampen = entropies(nn)
    else:
        apen = sampen = math.nan
    return [apen, sampen, dfa_alpha1(nn), dfa_alpha2(nn)]


def _slow_values(nn: np.ndarray) -> list[float]:
    """AR spectral, geometric and nonlinear indices of validated intervals, in
    :data:`_SLOW_KEYS` order."""
    return _ar_values(nn) + _geometric_values(nn) + _nonlinear_values(nn)


def hrv(nn_ms) -> dict[str, float]:
    """All HRV indices of an NN series: :func:`hrv_time`, :func:`hrv_geometric`,
    :func:`hrv_frequency` and :func:`hrv_nonlinear`.

    Parameters
    ----------
    nn_ms : array_like
        Successive, artifact-corrected NN intervals, ms (from
        :func:`biofeed.physio.rr.clean_rr`; intervals are analysed as given).

    Returns
    -------
    dict[str, float]
        Keys :data:`HRV_KEYS`; units in :data:`HRV_INDICES`, minimum windows in the module
        notes.

    Examples
    --------
    LF power 30^2 / 2 = 450 ms^2 and HF power 20^2 / 2 = 200 ms^2 (the spline through beats
    0.8 s apart keeps 99 % of the 0.25 Hz power):

    >>> t = np.cumsum(np.full(400, 0.8))
    >>> rr = 800 + 30 * np.sin(2 * np.pi * 0.1 * t) + 20 * np.sin(2 * np.pi * 0.25 * t)
    >>> h = hrv(rr)
    >>> round(h["lf"]), round(h["hf"]), float(h["hf_peak"])
    (449, 198, 0.25)
    """
    nn, lo, hi = checked_nn(nn_ms)
    out = dict(zip(_TIME_KEYS, _time_values(nn, lo, hi)))
    out.update(zip(_SPECTRAL, _welch_values(nn)))
    out.update(zip(_SLOW_KEYS, _slow_values(nn)))
    return {key: out[key] for key in HRV_KEYS}


def hrv_stream_info(name: str = "hrv") -> StreamInfo:
    """Description of the live HRV stream (channels :data:`HRV_KEYS`)."""
    return StreamInfo(name=name, kind="hrv", unit="a.u.", rate=0.0, channels=HRV_KEYS,
                      device=name, derived=True)


class HRVProcessor(GridProcessor):
    """Live HRV indices, one sample per whole second of session time.

    Input: NN stream ``source`` (kind ``"nn"``, emitted by
    :class:`~biofeed.physio.rr.NNProcessor`; ms, irregular, timestamp = beat time, s). At every
    whole second ``T`` the processor emits :data:`HRV_KEYS`:

    * :func:`hrv_time` (time-domain, Poincaré, stress and autonomic indices) of the NN beats
      with time in ``(T - time_window_s, T]``, recomputed every second;
    * the Welch spectral indices of :func:`hrv_frequency` of the beats in
      ``(T_s - spectral_window_s, T_s]`` where ``T_s = spectral_period_s * floor(T /
      spectral_period_s)`` is the latest multiple of ``spectral_period_s`` (default 5 s),
      held in between: the spectrum of minutes of beats hardly moves in a second;
    * the AR spectral indices, :func:`hrv_geometric` and :func:`hrv_nonlinear` (histogram,
      entropy and DFA indices) of the beats in the same window ending at the latest
      multiple of ``slow_period_s`` (default 30 s), held in between: they describe the
      whole window's distribution and dynamics, and recomputing them every 30 s instead of
      every 5 s keeps the processor within its share of the live pipeline (together they
      cost about 3 ms per update, the Welch spectrum 0.6 ms; ``benchmarks/bench_hrv.py``).

    Windows are shorter while the session is younger; indices whose minimum span is not met
    are NaN (see the module notes). Emission times and values depend only on the NN stream,
    not on chunking (see :class:`~biofeed.physio.rr.GridProcessor`).

    Parameters
    ----------
    source : str
        Name of the NN input stream.
    time_window_s : float
        Window of the time-domain, Poincaré, stress and autonomic indices, s (30-60 usual).
    spectral_window_s : float
        Window of the spectral, geometric and nonlinear indices, s (120-300 usual).
    spectral_period_s : float
        Seconds between recomputations of the Welch spectral indices (a whole number).
    slow_period_s : float
        Seconds between recomputations of the AR, geometric and nonlinear indices (a whole
        number).
    name : str
        Name of the output stream.
    """

    def __init__(self, source: str = "rr.nn", time_window_s: float = 60.0,
                 spectral_window_s: float = 300.0, spectral_period_s: float = 5.0,
                 slow_period_s: float = 30.0, name: str = "hrv") -> None:
        super().__init__(source, period_s=1.0, history_s=max(time_window_s, spectral_window_s))
        for label, period in (("spectral_period_s", spectral_period_s),
                              ("slow_period_s", slow_period_s)):
            if not (period >= 1.0 and float(period).is_integer()):
                raise ValueError(f"{label} must be a whole number of seconds >= 1, "
                                 f"got {period!r}")
        self.outputs = (hrv_stream_info(name),)
        self._time_window = float(time_window_s)
        self._spectral_window = float(spectral_window_s)
        # period (s) -> [end of the window of the held values, the values, how to compute
        # them, their columns]
        self._held = [[float(spectral_period_s), math.nan, None, _welch_values, _WELCH_COLUMNS],
                      [float(slow_period_s), math.nan, None, _slow_values, _SLOW_COLUMNS]]

    def _compute(self, t: float, times: np.ndarray, nn: np.ndarray) -> np.ndarray:
        row = np.empty(len(HRV_KEYS))
        for held in self._held:
            period, end, _, compute, columns = held
            ts = period * math.floor(t / period)
            if ts != end:
                # ts == t on every grid point but possibly the first, which has no beats <= ts
                lo = times.searchsorted(ts - self._spectral_window, "right")
                window = nn[lo:times.searchsorted(ts, "right")]
                held[1], held[2] = ts, compute(checked_nn(window)[0])
            row[columns] = held[2]
        row[_TIME_COLUMNS] = _time_values(
            *checked_nn(nn[times.searchsorted(t - self._time_window, "right"):]))
        return row
