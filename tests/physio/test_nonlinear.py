"""Nonlinear (sample and approximate entropy, DFA) and geometric (triangular index, TINN) HRV
indices: hand-computed cases, series with known answers, brute-force definitions, and
neurokit2 on the NN intervals of real records."""
from __future__ import annotations

import math
import warnings
from fractions import Fraction

import numpy as np
import pytest
from scipy.special import erf

from biofeed.physio import nonlinear
from biofeed.physio.geometric import BIN_MS, tinn, triangular_index
from biofeed.physio.nonlinear import (ALPHA1_SCALES, ALPHA2_SCALES, approximate_entropy, dfa,
                                      dfa_alpha1, dfa_alpha2, sample_entropy)
from biofeed.physio.scoring import BEAT_SYMBOLS


# ------------------------------------------------------------------ definitions, brute force
def _match_counts(x, length, count, tol):
    """Per template i < count of ``length`` beats: templates j < count within tol (Chebyshev),
    i itself included, by comparing every pair."""
    t = np.array([x[i:i + length] for i in range(count)])
    dist = np.abs(t[:, None, :] - t[None, :, :]).max(axis=2)
    return (dist <= tol).sum(axis=1)


def _sampen_pairs(x, m, r):
    tol = r * np.std(x, ddof=1)
    count = len(x) - m
    b = _match_counts(x, m, count, tol).sum() - count
    a = _match_counts(x, m + 1, count, tol).sum() - count
    return -math.log(a / b)


def _apen_pairs(x, m, r):
    tol = r * np.std(x, ddof=1)
    phi = [np.mean(np.log(_match_counts(x, k, len(x) - k + 1, tol) / (len(x) - k + 1)))
           for k in (m, m + 1)]
    return phi[0] - phi[1]


def _dfa_polyfit(x, scales):
    """DFA with np.polyfit per box (half-overlapping boxes starting before beat N - n, boxes
    without fluctuation left out) and log F on log n."""
    y = np.cumsum(x - np.mean(x))
    f = []
    for n in scales:
        var = []
        for s in range(0, len(x) - n, n // 2):
            box = y[s:s + n]
            k = np.arange(n)
            var.append(np.mean((box - np.polyval(np.polyfit(k, box, 1), k)) ** 2))
        var = np.array(var)
        f.append(np.sqrt(np.mean(var[var > 1e-8 * var.max()])))
    return np.polyfit(np.log(scales), np.log(f), 1)[0]


def _noise(kind, n, seed):
    """NN-like series (ms) with a known DFA exponent: white (0.5), 1/f (1.0), random walk
    (1.5)."""
    rng = np.random.default_rng(seed)
    if kind == "white":
        z = rng.standard_normal(n)
    elif kind == "pink":
        f = np.fft.rfftfreq(n)
        amp = np.zeros_like(f)
        amp[1:] = f[1:] ** -0.5
        z = np.fft.irfft(amp * (rng.standard_normal(f.size) + 1j * rng.standard_normal(f.size)), n)
    else:
        z = np.cumsum(rng.standard_normal(n))
    return 800 + 30 * z / z.std()


# ------------------------------------------------------------------ hand-computed cases
def test_entropies_by_hand():
    """m = 1, tolerance 0.5 on integers: templates match when equal.

    x = 1 2 1 2 1 3. SampEn uses the first N - m = 5 templates: values 1 2 1 2 1 give
    B = 3*2 + 2*1 = 8 ordered pairs; pairs (1,2) (2,1) (1,2) (2,1) (1,3) give A = 2 + 2 = 4;
    SampEn = ln 2. ApEn: the 6 single values match 3, 2, 3, 2, 3, 1 times (of 6), the 5 pairs
    2, 2, 2, 2, 1 times (of 5).
    """
    x = np.array([1.0, 2, 1, 2, 1, 3])
    r = 0.5 / np.std(x, ddof=1)
    assert sample_entropy(x, m=1, r=r) == pytest.approx(math.log(2), rel=1e-12)
    phi1 = (3 * math.log(3 / 6) + 2 * math.log(2 / 6) + math.log(1 / 6)) / 6
    phi2 = (4 * math.log(2 / 5) + math.log(1 / 5)) / 5
    assert approximate_entropy(x, m=1, r=r) == pytest.approx(phi1 - phi2, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("m", [1, 2, 3])
def test_entropies_equal_pairwise_definition(seed, m):
    rng = np.random.default_rng(seed)
    # quantised like a 128 Hz ECG, so equal values and exact-zero distances occur
    x = np.round((800 + np.cumsum(rng.standard_normal(200)) * 5) / BIN_MS) * BIN_MS
    assert sample_entropy(x, m) == pytest.approx(_sampen_pairs(x, m, 0.2), rel=1e-12)
    assert approximate_entropy(x, m) == pytest.approx(_apen_pairs(x, m, 0.2), rel=1e-12)


@pytest.mark.parametrize("scales", [ALPHA1_SCALES, ALPHA2_SCALES, (3, 5, 9)])
@pytest.mark.parametrize("n", [256, 301, 1000])
def test_dfa_equals_polyfit_per_box(scales, n):
    x = _noise("pink", n, n) + np.round(np.sin(np.arange(n)) * 2)
    assert dfa(x, scales) == pytest.approx(_dfa_polyfit(x, scales), rel=1e-9)


def test_dfa_leaves_out_boxes_without_fluctuation():
    """Runs of equal intervals (a coarsely sampled ECG) give boxes with a straight profile."""
    rng = np.random.default_rng(5)
    x = np.repeat(800 + 10 * np.round(rng.standard_normal(60)), 5)
    alpha = dfa_alpha1(x)
    assert alpha == pytest.approx(_dfa_polyfit(x, ALPHA1_SCALES), rel=1e-9)
    assert np.isfinite(alpha)


def test_geometric_by_hand():
    """Histogram 1 2 3 4 3 2 1 over 7 bins: triangular index 16 / 4. TINN: X = bin 3, N =
    edge 1 (above the shortest interval's bin); M runs over edges 4, 5, 6 with squared errors
    3^2 = 9, 1^2 + 2^2 = 5 and (1/3)^2 + (2/3)^2 + 1^2 = 14/9 on the right side: M = 6, base
    5 bins."""
    counts = [1, 2, 3, 4, 3, 2, 1]
    nn = np.concatenate([np.full(c, (100 + k + 0.5) * BIN_MS) for k, c in enumerate(counts)])
    nn = np.random.default_rng(0).permutation(nn)
    assert triangular_index(nn) == 16 / 4
    assert tinn(nn) == 5 * BIN_MS


def test_tinn_when_the_mode_holds_the_shortest_or_longest_interval():
    assert tinn(np.full(50, 800.0)) == BIN_MS
    assert triangular_index(np.full(50, 800.0)) == 1.0
    mode = 100 * BIN_MS
    # longest interval in the modal bin: M is its upper edge; N the edge above the shortest
    left = np.concatenate((np.full(9, mode + 1), np.full(2, mode - 3 * BIN_MS)))
    assert tinn(left) == 3 * BIN_MS
    # shortest in the modal bin: N = X, M fitted on the right (counts 9 | 4 2: M = edge 2)
    right = np.concatenate((np.full(9, mode + 1), np.full(4, mode + BIN_MS + 1),
                            np.full(2, mode + 2 * BIN_MS + 1)))
    assert tinn(right) == 2 * BIN_MS


def test_histogram_bins_are_half_open_from_zero():
    """Bin k holds [k, k + 1) x 7.8125 ms: 1000 ms (bin 128 exactly) and 1007.8 ms share a
    bin, 999.9 ms is in the one below."""
    assert triangular_index([1000.0, 1007.8, 999.9]) == 3 / 2
    assert triangular_index([1000.0, 1007.9]) == 2 / 1


# ------------------------------------------------------------------ known answers
def test_sample_entropy_of_white_noise():
    """i.i.d. Gaussian: A / B is the chance that one more value matches, P(|x - y| <= 0.2 sd)
    = erf(0.1), so SampEn = -ln erf(0.1) = 2.185 (Richman & Moorman 2000)."""
    x = _noise("white", 5000, 1)
    assert sample_entropy(x) == pytest.approx(-math.log(erf(0.1)), rel=0.03)


def test_entropies_of_regular_series():
    """A constant series (tolerance 0) and a periodic one (every m-match extends) have
    SampEn 0; ApEn is near 0 (Phi(m) - Phi(m + 1) is -1e-5 for the period: Phi(m) has one
    template more); a little noise keeps both far below white noise's."""
    assert sample_entropy(np.full(100, 800.0)) == 0.0
    assert approximate_entropy(np.full(100, 800.0)) == 0.0
    period = 800 + 40 * np.sin(2 * np.pi * np.arange(300) / 7)
    assert sample_entropy(period) == pytest.approx(0.0, abs=1e-12)
    assert approximate_entropy(period) == pytest.approx(0.0, abs=1e-3)
    noisy = period + np.random.default_rng(2).standard_normal(300)
    assert sample_entropy(noisy) < 0.3
    assert approximate_entropy(noisy) < 0.3


@pytest.mark.parametrize("kind,alpha", [("white", 0.5), ("pink", 1.0), ("walk", 1.5)])
def test_dfa_of_noises_with_known_exponent(kind, alpha):
    """Peng et al. (1995): 0.5 uncorrelated, 1.0 1/f, 1.5 Brownian. Over 4-16 beats linear
    DFA is biased upwards for white noise (0.58 here; Kantelhardt et al. 2001), so alpha1 gets
    a wider margin there."""
    a1, a2 = [], []
    for seed in range(4):
        x = _noise(kind, 8192, seed)
        a1.append(dfa_alpha1(x))
        a2.append(dfa_alpha2(x))
        assert dfa(x, range(16, 1025, 16)) == pytest.approx(alpha, abs=0.1)
    assert np.mean(a2) == pytest.approx(alpha, abs=0.05)
    assert np.mean(a1) == pytest.approx(alpha, abs=0.1 if kind == "white" else 0.05)


def test_indices_do_not_depend_on_units():
    """Tolerance is a fraction of the SD, DFA a slope: scaling and offsetting the series
    changes nothing."""
    x = _noise("pink", 600, 3)
    y = 1.7 * x + 250
    assert sample_entropy(y) == pytest.approx(sample_entropy(x), rel=1e-9)
    assert approximate_entropy(y) == pytest.approx(approximate_entropy(x), rel=1e-9)
    assert dfa_alpha1(y) == pytest.approx(dfa_alpha1(x), rel=1e-9)
    assert dfa_alpha2(y) == pytest.approx(dfa_alpha2(x), rel=1e-9)


# ------------------------------------------------------------------ too little data, bad input
def test_minimum_beats():
    x = _noise("white", 300, 4)
    # two templates (m + 2 beats) are the least SampEn needs
    assert math.isnan(sample_entropy(np.full(3, 800.0))) and sample_entropy(np.full(4, 800.0)) == 0
    assert math.isnan(approximate_entropy(x[:2])) and np.isfinite(approximate_entropy(x[:3]))
    assert math.isnan(dfa_alpha1(x[:63])) and np.isfinite(dfa_alpha1(x[:64]))
    assert math.isnan(dfa_alpha2(x[:255])) and np.isfinite(dfa_alpha2(x[:256]))
    for f in (sample_entropy, approximate_entropy, dfa_alpha1, tinn, triangular_index):
        assert math.isnan(f([]))


def test_undefined_sample_entropy_is_nan():
    # strictly increasing by 1 ms with a tolerance under 1 ms: no two templates match
    assert math.isnan(sample_entropy(np.arange(800.0, 900.0), r=0.01))
    # single values match (the zeros), pairs never: 0 1 0 2 0 3 ...
    x = np.ravel([[0.0, k] for k in range(1, 30)]) * 100 + 800
    assert math.isnan(sample_entropy(x, m=1, r=0.01))


def test_constant_series_has_no_dfa():
    assert math.isnan(dfa_alpha1(np.full(100, 800.0)))


@pytest.mark.parametrize("bad", [np.ones((10, 2)), [800.0, np.nan, 810.0], [800.0, np.inf]])
def test_bad_series_raise(bad):
    for f in (sample_entropy, approximate_entropy, dfa_alpha1, tinn, triangular_index):
        with pytest.raises(ValueError):
            f(bad)


def test_bad_parameters_raise():
    x = _noise("white", 100, 0)
    for kwargs in ({"m": 0}, {"m": 1.5}, {"r": 0}, {"r": np.nan}):
        with pytest.raises(ValueError):
            sample_entropy(x, **kwargs)
        with pytest.raises(ValueError):
            approximate_entropy(x, **kwargs)
    for scales in ((4,), (2, 4), (4.5, 8), ()):
        with pytest.raises(ValueError):
            dfa(x, scales)
    with pytest.raises(ValueError):
        tinn([800.0, 0.0])


# ------------------------------------------------------------------ neurokit2 on real NN
def _normal_to_normal(base) -> np.ndarray:
    """NN intervals (ms) of a record: intervals between successive reference beats both
    annotated normal (N)."""
    wfdb = pytest.importorskip("wfdb")
    ann = wfdb.rdann(str(base), "atr")
    sym = np.array(ann.symbol)
    beat = np.isin(sym, list(BEAT_SYMBOLS))
    sym, samples = sym[beat], ann.sample[beat]
    normal = (sym[:-1] == "N") & (sym[1:] == "N")
    return (np.diff(samples) / ann.fs * 1000)[normal]


@pytest.fixture(scope="module")
def real_nn(shared_data):
    """NN series (ms) of MIT-BIH 100 and 208 and of the NeuroKit2 8 min resting recording
    (neurokit2's R-peaks of its 100 Hz ECG)."""
    nk = pytest.importorskip("neurokit2")
    pd = pytest.importorskip("pandas")
    ecg = pd.read_csv(shared_data / "neurokit" / "bio_resting_8min_100hz.csv")["ECG"].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, info = nk.ecg_peaks(nk.ecg_clean(ecg, sampling_rate=100), sampling_rate=100)
    return {"mitdb100": _normal_to_normal(shared_data / "mitdb" / "100"),
            "mitdb208": _normal_to_normal(shared_data / "mitdb" / "208"),
            "neurokit_resting": np.diff(info["ECG_R_Peaks"]) * 10.0}


def _neurokit_indices(nn):
    """neurokit2's indices of one NN series, with the calls and arguments its hrv_nonlinear
    makes (tolerance 0.2 SD, dfa_windows 4-16 and 16-64 beats), and hrv_time's HTI, TINN."""
    import neurokit2 as nk
    tol = 0.2 * np.std(nn, ddof=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t = nk.hrv_time({"RRI": nn}).iloc[0]
        return {"sampen": nk.entropy_sample(nn, delay=1, dimension=2, tolerance=tol)[0],
                "apen": nk.entropy_approximate(nn, delay=1, dimension=2, tolerance=tol)[0],
                "dfa_alpha1": nk.fractal_dfa(nn, scale=np.arange(4, 17))[0],
                "dfa_alpha2": nk.fractal_dfa(nn, scale=np.arange(16, 65))[0],
                "tri_index": t["HRV_HTI"], "tinn": t["HRV_TINN"]}


OURS = {"sampen": sample_entropy, "apen": approximate_entropy, "dfa_alpha1": dfa_alpha1,
        "dfa_alpha2": dfa_alpha2, "tri_index": triangular_index, "tinn": tinn}
#: Agreement asked of each index (relative): TINN implementations differ in detail.
REL = {"sampen": 0.03, "apen": 0.03, "dfa_alpha1": 0.03, "dfa_alpha2": 0.03,
       "tri_index": 0.03, "tinn": 0.20}


@pytest.mark.parametrize("record", ["mitdb100", "mitdb208", "neurokit_resting"])
def test_agrees_with_neurokit_on_real_nn(real_nn, record):
    nn = real_nn[record]
    assert nn.size > 400
    ref = _neurokit_indices(nn)
    for key, f in OURS.items():
        assert f(nn) == pytest.approx(ref[key], rel=REL[key]), key


def test_neurokit_reference_is_what_hrv_nonlinear_returns(real_nn):
    """The reference calls above are those of nk.hrv_nonlinear (checked on the 8 min record:
    hrv_nonlinear takes about 30 s on 30 min, for indices not compared here)."""
    nk = pytest.importorskip("neurokit2")
    nn = real_nn["neurokit_resting"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = nk.hrv_nonlinear({"RRI": nn}, dfa_windows=[(4, 16), (16, 64)]).iloc[0]
    ref = _neurokit_indices(nn)
    for ours, theirs in [("sampen", "HRV_SampEn"), ("apen", "HRV_ApEn"),
                         ("dfa_alpha1", "HRV_DFA_alpha1"), ("dfa_alpha2", "HRV_DFA_alpha2")]:
        assert ref[ours] == pytest.approx(out[theirs], rel=1e-12)
        assert OURS[ours](nn) == pytest.approx(out[theirs], rel=REL[ours]), ours


def _tinn_errors(nn):
    """Lower edge N (bin index from the shortest interval's bin) and, per candidate upper
    corner M, the squared error of the triangle over bins N .. M, in exact fractions, straight
    from the definition in :func:`tinn`."""
    k = np.floor(np.asarray(nn) / BIN_MS).astype(int)
    counts = np.bincount(k - k.min()).tolist() + [0]
    x = int(np.argmax(counts))
    y = counts[x]
    n = min(1, x)
    errors = {}
    for m in range(x + 1, max(len(counts) - 2, x + 1) + 1):
        q = [Fraction(y * (j - n), x - n) if j < x else Fraction(y * (m - j), m - x)
             for j in range(n, m + 1)]
        errors[m] = sum((c - qj) ** 2 for c, qj in zip(counts[n:m + 1], q))
    return n, errors


def test_tinn_is_the_first_least_squares_corner():
    rng = np.random.default_rng(11)
    for size in (5, 30, 300, 3000):
        nn = np.round(700 + rng.gamma(3, 20, size))
        n, errors = _tinn_errors(nn)
        best = min(errors, key=errors.get)
        assert tinn(nn) == (best - n) * BIN_MS


def test_geometric_equal_neurokit_on_many_histograms():
    """Skewed, bimodal and short series, quantised or not: neurokit2's hrv_time has the same
    triangular index, and its TINN corner M has the least error too (where several corners tie
    exactly, rounding picks neurokit2's; where the shortest interval is in the modal bin
    neurokit2 returns 0)."""
    nk = pytest.importorskip("neurokit2")
    rng = np.random.default_rng(7)
    same = 0
    for k in range(40):
        size = int(rng.integers(20, 600))
        nn = 600 + rng.gamma(2 + k % 5, 15 + k, size)
        if k % 3 == 0:
            nn[: size // 3] += 150  # second mode
        if k % 2:
            nn = np.round(nn)  # 1000 Hz R-peaks
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ref = nk.hrv_time({"RRI": nn}).iloc[0]
        assert triangular_index(nn) == pytest.approx(ref["HRV_HTI"], rel=1e-12)
        if ref["HRV_TINN"] > 0:
            n, errors = _tinn_errors(nn)
            ours = n + round(tinn(nn) / BIN_MS)
            assert errors[n + round(ref["HRV_TINN"] / BIN_MS)] == errors[ours]
            same += tinn(nn) == ref["HRV_TINN"]
    assert same >= 30


@pytest.mark.slow
def test_agrees_with_neurokit_on_windows_of_every_record(shared_data):
    """300-beat windows (live size) of the RR series of every MIT-BIH record here, ectopic
    beats included: the definitions, not one record's numbers, must agree."""
    wfdb = pytest.importorskip("wfdb")
    pytest.importorskip("neurokit2")
    checked = 0
    for hea in sorted((shared_data / "mitdb").glob("*.hea")):
        base = hea.with_suffix("")
        ann = wfdb.rdann(str(base), "atr" if base.with_suffix(".atr").exists() else "qrs")
        rr = np.diff(ann.sample[np.isin(ann.symbol, list(BEAT_SYMBOLS))]) / ann.fs * 1000
        for start in range(0, rr.size - 300, 900):
            nn = rr[start:start + 300]
            ref = _neurokit_indices(nn)
            for key, f in OURS.items():
                assert f(nn) == pytest.approx(ref[key], rel=REL[key]), (base.name, start, key)
            checked += 1
    assert checked >= 20


@pytest.mark.parametrize("n", [3, 4, 5, 60, 400, 501, 900])
@pytest.mark.parametrize("m", [1, 2, 3])
def test_entropies_in_one_pass_equal_the_tree_counts(n, m):
    """``entropies`` (one pass over all pairs up to PAIR_BEATS beats, trees above) gives what
    the two functions give, quantised intervals (many exact ties at the tolerance) included."""
    rng = np.random.default_rng(n + 10 * m)
    x = np.round(800 + 40 * rng.standard_normal(n) + 20 * np.sin(np.arange(n) / 3), -1)
    got = nonlinear.entropies(x, m=m)
    want = (nonlinear.approximate_entropy(x, m=m), nonlinear.sample_entropy(x, m=m))
    assert np.allclose(got, want, rtol=1e-12, equal_nan=True)
