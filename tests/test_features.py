"""TR-window spectra, window grid, lazy pairs, resampling (array level, no files)."""

import numpy as np
import pytest

from eeg2fmri.exceptions import AlignmentError, DataError
from eeg2fmri.features import (
    ConcatPairs,
    ContextPairs,
    FeatureParams,
    PairedDataset,
    RunFeatures,
    VolumeTargets,
    compute_run_spectra,
    compute_window_spectra,
    make_window_grid,
    resample_volumes,
    spectrum_frequencies,
)

FS, TR, C = 250.0, 2.0, 8
N_VOL = 40
LEAD = 3.3  # seconds of EEG before the first volume
ALPHA_BIN = int(10 * TR) - 1  # 10 Hz = bin 20 = column 19 once DC is dropped


def _onsets(n_vol=N_VOL, lead=LEAD, rng=None):
    onsets = lead + TR * np.arange(n_vol)
    if rng is not None:  # a few ms of trigger jitter, as in real recordings
        onsets = onsets + rng.uniform(-0.004, 0.004, n_vol)
    return onsets


def _eeg(rng, onsets, burst_start=None, burst_len=1.0, channel=3, tail=1.0):
    """White noise; optionally a strong 10 Hz burst on one channel."""
    n = int(round((onsets[-1] + TR + tail) * FS))
    x = 0.1 * rng.standard_normal((C, n))
    if burst_start is not None:
        i0 = int(round(burst_start * FS))
        t = np.arange(int(burst_len * FS)) / FS
        x[channel, i0 : i0 + t.size] += 5.0 * np.sin(2 * np.pi * 10.0 * t)
    return x


# ---------------------------------------------------------------------------------
# parameters


def test_params_defaults_official_paper_and_roundtrip():
    p = FeatureParams()
    assert (p.n_freqs, p.drop_dc, p.window, p.normalization, p.log_magnitude) == (
        249,
        True,
        "boxcar",
        "none",
        True,
    )
    official = FeatureParams.official()
    assert (official.normalization, official.log_magnitude) == (
        "zscore_electrodes",
        False,
    )
    assert FeatureParams.official(n_context=4) == FeatureParams(
        n_context=4, normalization="zscore_electrodes", log_magnitude=False
    )
    assert (p.n_context, p.lag, p.discard_volumes, p.use_pre_scan_eeg) == (
        20,
        0.0,
        6,
        False,
    )
    paper = FeatureParams.paper()
    assert paper.lag == 6.0 and paper.window == "hann" and paper.normalization == "none"
    assert not paper.log_magnitude
    assert [paper.n_context_for(tr) for tr in (2.16, 2.0, 1.28)] == [9, 10, 16]
    assert p.n_context_for(2.16) == 20
    q = FeatureParams(window=("tukey", 0.25), log_magnitude=True)
    assert FeatureParams.from_dict(q.to_dict()) == q
    assert q.to_dict()["window"] == ["tukey", 0.25]
    for bad in (
        dict(n_freqs=0),
        dict(normalization="minmax"),
        dict(lag=-1.0),
        dict(window="not-a-window"),
        dict(discard_volumes=-1),
        dict(n_context=2.5),
    ):
        with pytest.raises(ValueError, match="FeatureParams"):
            FeatureParams(**bad)
    with pytest.raises(ValueError, match="unknown keys"):
        FeatureParams.from_dict({"n_freq": 3})


# ---------------------------------------------------------------------------------
# window grid and pair counts (hand-computed)


@pytest.mark.parametrize(("n_vol", "expected"), [(300, 274), (170, 144), (40, 14)])
def test_official_pair_count(n_vol, expected):
    # official: n_volumes - discard_volumes (6) - n_context (20)
    onsets = TR * np.arange(n_vol)
    grid = make_window_grid(onsets, FS, TR, int(n_vol * TR * FS))
    assert grid.first_window == 6 and grid.n_windows == n_vol - 6
    targets, last, missing = grid.pairs(20, 6, False)
    assert targets.size == expected
    assert targets[0] == 26 and targets[-1] == n_vol - 1
    assert missing == {"start": 0, "end": 0}
    np.testing.assert_array_equal(last, targets - 1 - 6)


def test_pair_counts_pre_scan_lag_and_short_eeg():
    n = 50
    # EEG starts 5 s before the first volume: floor(5 / 2) = 2 windows before it
    onsets = 5.0 + TR * np.arange(n)
    n_samples = int((onsets[-1] + TR) * FS)
    pre = make_window_grid(
        onsets, FS, TR, n_samples, FeatureParams(use_pre_scan_eeg=True)
    )
    assert pre.first_window == -2 and pre.n_windows == n + 2
    np.testing.assert_array_equal(pre.starts[:3], [250, 750, 1250])  # 1 s, 3 s, 5 s
    targets, _, missing = pre.pairs(20, 6, True)
    assert targets[0] == 18 and targets.size == n - 18  # v - 20 >= -2
    assert missing == {"start": 12, "end": 0}  # volumes 6..17 would need more lead
    default = make_window_grid(onsets, FS, TR, n_samples)
    assert default.pairs(20, 6, False)[0].size == n - 26

    # lag 6 s, EEG starting at the first volume, no discarded volumes: windows of
    # volumes 0, 1, 2 would start at -6, -4, -2 s -> first window is volume 3
    onsets0 = TR * np.arange(n)
    p = FeatureParams(lag=6.0, discard_volumes=0)
    grid = make_window_grid(onsets0, FS, TR, int(n * TR * FS), p)
    assert grid.first_window == 3
    assert grid.starts[0] == 0  # onset_3 - 6 s = 0 s
    targets, _, missing = grid.pairs(20, 0, False)
    assert targets[0] == 23 and targets.size == n - 23 and missing["start"] == 3
    # the context of target v ends lag seconds before its onset
    assert (grid.starts[targets - 1 - 3] + grid.window_length) / FS == pytest.approx(
        onsets0[targets] - 6.0
    )

    # EEG stops at the onset of volume 40: windows up to volume 39 exist
    short = make_window_grid(onsets0, FS, TR, int(40 * TR * FS))
    targets, _, missing = short.pairs(20, 6, False)
    np.testing.assert_array_equal(targets, np.arange(26, 41))  # 26..40
    assert missing == {"start": 0, "end": n - 41}
    assert FeatureParams(n_context=np.int64(20), lag=np.float32(6)).n_context == 20


# ---------------------------------------------------------------------------------
# spectra


def test_spectrum_matches_explicit_fft_dc_dropped(rng):
    onsets = _onsets(n_vol=10, lead=0.5)
    x = _eeg(rng, onsets) + 3.0  # a DC offset that must not show up
    p = FeatureParams(normalization="none", log_magnitude=False, discard_volumes=0)
    spectra, grid = compute_run_spectra(x, FS, onsets, TR, p)
    assert spectra.dtype == np.float32 and spectra.shape == (10, C, 249)
    s, L = grid.starts[4], grid.window_length
    assert L == 500 and s == round(onsets[4] * FS)
    ref = np.abs(np.fft.rfft(x[:, s : s + L], axis=-1))[:, 1:250]
    np.testing.assert_allclose(spectra[4], ref, rtol=2e-4, atol=1e-4)
    with_dc = compute_window_spectra(
        x,
        FS,
        grid.starts,
        L,
        FeatureParams(normalization="none", log_magnitude=False, drop_dc=False),
    )
    np.testing.assert_allclose(
        with_dc[4, :, 0], np.abs(x[:, s : s + L].sum(-1)), rtol=1e-4
    )
    np.testing.assert_allclose(
        with_dc[..., 1:], spectra[..., :-1], rtol=1e-5, atol=1e-5
    )
    # taper and log magnitude are what they say
    hann = compute_window_spectra(
        x,
        FS,
        grid.starts,
        L,
        FeatureParams(normalization="none", log_magnitude=False, window="hann"),
    )
    w = np.hanning(L + 1)[:-1]  # periodic Hann
    ref_h = np.abs(np.fft.rfft(x[:, s : s + L] * w, axis=-1))[:, 1:250]
    np.testing.assert_allclose(hann[4], ref_h, rtol=2e-4, atol=1e-4)
    logged = compute_window_spectra(
        x, FS, grid.starts, L, FeatureParams(normalization="none", log_magnitude=True)
    )
    np.testing.assert_allclose(logged, np.log(spectra), rtol=1e-5, atol=1e-5)
    freqs = spectrum_frequencies(L, FS)
    assert freqs[0] == pytest.approx(0.5) and freqs[ALPHA_BIN] == pytest.approx(10.0)


def test_zscore_across_electrodes_and_channels(rng):
    onsets = _onsets(n_vol=12)
    x = _eeg(rng, onsets) * rng.uniform(0.5, 3, (C, 1))
    starts = np.round(onsets * FS).astype(int)
    z = compute_window_spectra(x, FS, starts, 500, FeatureParams.official())
    np.testing.assert_allclose(z.mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=1), 1, atol=1e-4)
    zc = compute_window_spectra(
        x,
        FS,
        starts,
        500,
        FeatureParams(normalization="zscore_channels", log_magnitude=False),
    )
    np.testing.assert_allclose(zc.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(zc.std(axis=0), 1, atol=1e-4)
    # identical channels: zero std across electrodes -> 0, not NaN
    same = np.repeat(x[:1], C, axis=0)
    z0 = compute_window_spectra(same, FS, starts, 500, FeatureParams.official())
    assert np.isfinite(z0).all() and not z0.any()


def test_bins_past_nyquist_are_zero_with_one_warning(rng):
    fs = 100.0  # windows of 200 samples: bins 0..100, Nyquist = bin 100 = 50 Hz
    x = rng.standard_normal((C, 2000))
    starts = np.arange(0, 1800, 200)
    with pytest.warns(UserWarning, match="Nyquist"):
        raw = compute_window_spectra(
            x, fs, starts, 200, FeatureParams(normalization="none", log_magnitude=False)
        )
    assert raw.shape == (9, C, 249)
    assert raw[..., :100].min() > 0 and not raw[..., 100:].any()
    with pytest.warns(UserWarning, match="149 bins above it are zero"):
        z = compute_window_spectra(x, fs, starts, 200)
    assert np.isfinite(z).all() and not z[..., 100:].any()
    assert np.isnan(spectrum_frequencies(200, fs)[100:]).all()


def test_spectra_input_errors(rng):
    x = rng.standard_normal((C, 1000))
    with pytest.raises(ValueError, match="window_starts"):
        compute_window_spectra(x, FS, [0, 600], 500)
    with pytest.raises(ValueError, match="2-D"):
        compute_window_spectra(x[0], FS, [0], 500)
    x[2, 10] = np.nan
    with pytest.raises(DataError, match="NaN"):
        compute_window_spectra(x, FS, [0], 500)


# ---------------------------------------------------------------------------------
# alignment: a planted 10 Hz burst


def _run(rng, params, burst_start, subject="01", n_vol=N_VOL, lead=LEAD):
    onsets = _onsets(n_vol, lead, rng)
    x = _eeg(rng, onsets, burst_start)
    vols = rng.standard_normal((n_vol, 2, 3, 4)).astype(np.float32)
    return RunFeatures.from_arrays(
        x,
        FS,
        onsets,
        vols,
        np.eye(4),
        TR,
        params,
        subject=subject,
        label=f"sub-{subject}_task-rest",
    )


def _burst_pairs(ds):
    """(pair index, context position) where the 10 Hz cell on channel 3 is large."""
    hits = np.asarray(ds.X)[:, :, 3, ALPHA_BIN] > 100
    return np.argwhere(hits)


def test_burst_shows_in_exactly_the_covering_windows_and_pairs(rng):
    p = FeatureParams(normalization="none", log_magnitude=False)
    onsets = _onsets(rng=rng)
    burst = onsets[15] + 0.5  # inside window 15 = [onset_15, onset_15 + TR)
    x = _eeg(rng, onsets, burst)
    spectra, grid = compute_run_spectra(x, FS, onsets, TR, p)
    hot = grid.window_volumes[spectra[:, 3, ALPHA_BIN] > 100]
    np.testing.assert_array_equal(hot, [15])
    assert (spectra[:, [0, 1, 2, 4, 5, 6, 7], ALPHA_BIN] < 100).all()

    vols = rng.standard_normal((N_VOL, 2, 3, 4)).astype(np.float32)
    rf = RunFeatures.from_arrays(x, FS, onsets, vols, np.eye(4), TR, p, subject="01")
    ds = PairedDataset.from_runs([rf], p)
    prov = ds.provenance
    np.testing.assert_array_equal(prov["volume_index"], np.arange(26, 40))
    # window 15 is in the context (windows v-20 .. v-1) of targets 16..35 -> 26..35
    hits = _burst_pairs(ds)
    np.testing.assert_array_equal(
        prov["volume_index"].to_numpy()[hits[:, 0]], np.arange(26, 36)
    )
    # ... at context position 15 - (v - 20) = 35 - v
    np.testing.assert_array_equal(hits[:, 1], 35 - np.arange(26, 36))
    covered = (prov["context_start"] <= burst) & (prov["context_end"] >= burst + 1.0)
    np.testing.assert_array_equal(np.flatnonzero(covered), hits[:, 0])
    np.testing.assert_allclose(prov["onset"], onsets[26:40])
    np.testing.assert_allclose(prov["context_end"], onsets[25:39] + TR, atol=1 / FS)

    # official z-score across electrodes: the burst channel is the lone outlier
    # among 8 electrodes, z = sqrt(7)
    z = compute_window_spectra(
        x, FS, grid.starts, grid.window_length, FeatureParams.official()
    )
    assert z[15 - grid.first_window, 3, ALPHA_BIN] == pytest.approx(
        np.sqrt(7), abs=0.01
    )


def test_burst_with_lag_and_pre_scan_eeg(rng):
    onsets = _onsets(rng=rng)
    burst = onsets[15] + 0.5
    # lag 6 s: window g spans [onset_g - 6, onset_g - 4) -> the burst is in window 18,
    # which is in the contexts of targets 19..38 -> 26..38
    p = FeatureParams(normalization="none", log_magnitude=False, lag=6.0)
    x = _eeg(rng, onsets, burst)
    vols = np.zeros((N_VOL, 1, 1, 1), np.float32)
    rf = RunFeatures.from_arrays(x, FS, onsets, vols, np.eye(4), TR, p)
    ds = PairedDataset.from_runs([rf], p)
    hits = _burst_pairs(ds)
    np.testing.assert_array_equal(
        ds.provenance["volume_index"].to_numpy()[hits[:, 0]], np.arange(26, 39)
    )
    np.testing.assert_allclose(
        ds.provenance["context_end"], ds.provenance["onset"] - 6.0, atol=0.01
    )

    # pre-scan EEG: a burst at 1.5 s lies in window -1 = [1.3, 3.3) s, which only the
    # context of target 19 contains (v - 20 <= -1); the official layout never uses it
    early = 1.5
    x = _eeg(rng, onsets, early, burst_len=0.8)
    pre = FeatureParams(
        normalization="none", log_magnitude=False, use_pre_scan_eeg=True
    )
    rf = RunFeatures.from_arrays(x, FS, onsets, vols, np.eye(4), TR, pre)
    assert rf.grid.first_window == -1
    ds = PairedDataset.from_runs([rf], pre)
    np.testing.assert_array_equal(ds.provenance["volume_index"], np.arange(19, 40))
    hits = _burst_pairs(ds)
    np.testing.assert_array_equal(hits, [[0, 0]])
    off = FeatureParams(normalization="none", log_magnitude=False)
    rf = RunFeatures.from_arrays(x, FS, onsets, vols, np.eye(4), TR, off)
    assert _burst_pairs(PairedDataset.from_runs([rf], off)).size == 0


# ---------------------------------------------------------------------------------
# lazy pairs


def test_context_pairs_equal_explicit_materialization(rng):
    spectra = rng.standard_normal((30, 3, 5)).astype(np.float32)
    last = np.array([4, 9, 9, 17, 29])
    pairs = ContextPairs(spectra, last, 5)
    explicit = np.stack([spectra[i - 4 : i + 1] for i in last])
    assert pairs.shape == (5, 5, 3, 5) and pairs.dtype == np.float32 and len(pairs) == 5
    assert pairs.nbytes_materialized == explicit.nbytes
    np.testing.assert_array_equal(np.asarray(pairs), explicit)
    np.testing.assert_array_equal(pairs[1], explicit[1])
    np.testing.assert_array_equal(pairs[-1], explicit[-1])
    np.testing.assert_array_equal(pairs[1:4], explicit[1:4])
    np.testing.assert_array_equal(pairs[::-2], explicit[::-2])
    np.testing.assert_array_equal(pairs[[3, 0, 3]], explicit[[3, 0, 3]])
    mask = np.array([True, False, True, False, True])
    np.testing.assert_array_equal(pairs[mask], explicit[mask])
    np.testing.assert_array_equal(pairs[2, :, 1], explicit[2, :, 1])
    np.testing.assert_array_equal(pairs[:, -1], explicit[:, -1])
    np.testing.assert_array_equal(np.asarray(pairs.take([4, 1])), explicit[[4, 1]])
    assert pairs[[]].shape == (0, 5, 3, 5)
    assert pairs.spectra is spectra  # no copy held
    with pytest.raises(IndexError):
        pairs[5]
    with pytest.raises(IndexError):
        pairs[np.array([True, False])]
    with pytest.raises(ValueError, match="last_window"):
        ContextPairs(spectra, [3], 5)


def test_concat_and_targets(rng):
    s1 = rng.standard_normal((10, 2, 3)).astype(np.float32)
    s2 = rng.standard_normal((8, 2, 3)).astype(np.float32)
    a, b = ContextPairs(s1, [2, 5, 9], 3), ContextPairs(s2, [2, 7], 3)
    cat = ConcatPairs([a, b])
    full = np.concatenate([np.asarray(a), np.asarray(b)])
    assert cat.shape == (5, 3, 2, 3)
    np.testing.assert_array_equal(np.asarray(cat), full)
    order = [4, 0, 3, 1]
    np.testing.assert_array_equal(cat[order], full[order])
    sub = cat.take(order)
    assert len(sub.parts) == 4
    np.testing.assert_array_equal(np.asarray(sub), full[order])
    np.testing.assert_array_equal(np.asarray(cat.take([0, 1, 3])), full[[0, 1, 3]])
    assert len(cat.take([0, 1, 3]).parts) == 2

    vols = rng.uniform(100, 200, (6, 2, 3, 4)).astype(np.float32)
    vols[5] = 7.0  # constant volume
    idx = [1, 2, 5]
    raw = VolumeTargets(vols, idx)
    np.testing.assert_array_equal(np.asarray(raw), vols[idx])
    per_vol = np.asarray(VolumeTargets(vols, idx, "volume"))
    assert per_vol[:2].min(axis=(1, 2, 3)).tolist() == [0, 0]
    np.testing.assert_allclose(per_vol[:2].max(axis=(1, 2, 3)), 1, atol=1e-6)
    assert not per_vol[2].any()
    run = VolumeTargets(vols, idx, "run")
    lo, hi = vols[idx].min(), vols[idx].max()
    assert run.run_range == (lo, hi)
    np.testing.assert_allclose(np.asarray(run), (vols[idx] - lo) / (hi - lo), atol=1e-6)
    np.testing.assert_allclose(run.take([2])[0], (7.0 - lo) / (hi - lo), atol=1e-6)
    assert run.take([2]).run_range == (lo, hi)
    with pytest.raises(ValueError, match="bold_scaling"):
        VolumeTargets(vols, idx, "global")


def test_paired_dataset_groups_provenance_subset(rng):
    p = FeatureParams(normalization="none", log_magnitude=False)
    runs = [_run(rng, p, None, subject=s, n_vol=n) for s, n in (("01", 30), ("02", 33))]
    ds = PairedDataset.from_runs(runs, p, bold_scaling="volume")
    assert len(ds) == (30 - 26) + (33 - 26)
    assert ds.X.shape == (11, 20, C, 249) and ds.y.shape == (11, 2, 3, 4)
    assert ds.groups.tolist() == ["01"] * 4 + ["02"] * 7
    assert list(ds.provenance.columns[:7]) == [
        "subject",
        "session",
        "task",
        "run",
        "run_label",
        "volume_index",
        "onset",
    ]
    assert ds.provenance["run_label"].iloc[-1] == "sub-02_task-rest"
    v = ds.provenance["volume_index"].iloc[5]
    raw = runs[1].volumes[v]
    np.testing.assert_allclose(
        ds.y[5], (raw - raw.min()) / (raw.max() - raw.min()), atol=1e-6
    )
    assert ds.run_table["n_pairs"].tolist() == [4, 7]
    assert ds.run_table["n_missing_end"].tolist() == [0, 0]
    sub = ds.subset(ds.groups == "02")
    assert len(sub) == 7 and set(sub.groups) == {"02"} and len(sub.runs) == 1
    assert sub.run_table["run_label"].tolist() == ["sub-02_task-rest"]
    assert ds.subset([0, 1, 6]).run_table["n_pairs"].tolist() == [2, 1]
    np.testing.assert_array_equal(np.asarray(sub.X), np.asarray(ds.X)[4:])
    np.testing.assert_array_equal(np.asarray(sub.y), np.asarray(ds.y)[4:])
    rev = ds.subset([10, 0])
    np.testing.assert_array_equal(rev.provenance["volume_index"], [32, 26])
    np.testing.assert_array_equal(rev.X[0], ds.X[10])
    assert "11 pairs" in repr(ds)

    # a run whose EEG stops before any context is complete
    short = RunFeatures.from_arrays(
        rng.standard_normal((C, int(10 * TR * FS))),
        FS,
        TR * np.arange(30),
        np.zeros((30, 1, 1, 1)),
        np.eye(4),
        TR,
        p,
        label="sub-03_task-rest",
    )
    with pytest.raises(AlignmentError, match="sub-03_task-rest"):
        PairedDataset.from_runs([runs[0], short], p)
    other = _run(rng, p, None, subject="04")
    other.volumes = np.zeros((N_VOL, 3, 3, 4), np.float32)
    with pytest.raises(DataError, match="sub-04"):
        PairedDataset.from_runs([runs[0], other], p)


# ---------------------------------------------------------------------------------
# resampling


def _world_corners(affine, shape_dhw):
    d, h, w = shape_dhw
    lo = affine @ np.array([-0.5, -0.5, -0.5, 1.0])
    hi = affine @ np.array([h - 0.5, w - 0.5, d - 0.5, 1.0])
    return lo[:3], hi[:3]


@pytest.mark.parametrize("method", ["dct", "linear"])
def test_resample_keeps_field_of_view(method):
    affine = np.array(
        [[-3.0, 0, 0, 90], [0, 3.0, 0, -126], [0, 0, 4.0, -72], [0, 0, 0, 1]]
    )
    vols = np.full((2, 9, 12, 10), 5.0, np.float32)
    out, new = resample_volumes(vols, affine, (6, 8, 5), method)
    assert out.shape == (2, 6, 8, 5) and out.dtype == np.float32
    np.testing.assert_allclose(out, 5.0, rtol=1e-5)  # constant stays constant
    for a, b in zip(
        _world_corners(affine, (9, 12, 10)), _world_corners(new, (6, 8, 5)), strict=True
    ):
        np.testing.assert_allclose(a, b, atol=1e-9)
    # voxel sizes: i 3 * 12/8, j 3 * 10/5, k 4 * 9/6
    np.testing.assert_allclose(np.abs(np.diag(new)[:3]), [4.5, 6.0, 6.0])


def test_dct_truncation_resamples_smooth_signal_on_new_centres():
    # a DCT-II basis function sampled at the old voxel centres becomes the same
    # function sampled at the new centres (m + 0.5) * N / M - 0.5
    n, m, k = 16, 10, 3
    old = np.cos(np.pi * (np.arange(n) + 0.5) * k / n)
    new = np.cos(np.pi * (np.arange(m) + 0.5) * k / m)
    vols = np.broadcast_to(old[None, None, :, None], (1, 4, n, 6)).astype(np.float32)
    out, aff = resample_volumes(vols, np.eye(4), (4, m, 6), "dct")
    np.testing.assert_allclose(out[0, 2, :, 3], new, atol=1e-5)
    # and the new affine puts voxel m at that old coordinate
    centres = (aff @ np.c_[np.arange(m), np.zeros(m), np.zeros(m), np.ones(m)].T)[0]
    np.testing.assert_allclose(centres, (np.arange(m) + 0.5) * n / m - 0.5)
    up, _ = resample_volumes(out, aff, (4, n, 6), "dct")  # zero-padded upsampling
    np.testing.assert_allclose(up[0, 2, :, 3], old, atol=1e-5)
    with pytest.raises(ValueError, match="resample"):
        resample_volumes(vols, np.eye(4), (4, m, 6), "cubic")


# ---------------------------------------------------------------------------------
# real recording


def test_eeglab_sample_windows_and_alpha(realdata):
    mne = pytest.importorskip("mne")
    raw = mne.io.read_raw_eeglab(
        realdata / "eeg" / "eeglab-sample" / "test_raw.set",
        preload=True,
        verbose="error",
    )
    data, sfreq = raw.get_data(), raw.info["sfreq"]
    assert (data.shape[0], sfreq) == (32, 128.0)
    duration = data.shape[1] / sfreq
    assert duration == pytest.approx(238.3, abs=0.05)
    # fallback onsets (no scanner triggers): sample 0 is volume 0, one volume per TR
    tr = 2.0
    n_vol = int(np.floor(duration / tr))  # 119
    assert n_vol == 119
    onsets = tr * np.arange(n_vol)
    with pytest.warns(
        UserWarning, match="Nyquist"
    ):  # 128 Hz: bins stop at 64 Hz = bin 128
        spectra, grid = compute_run_spectra(
            data,
            sfreq,
            onsets,
            tr,
            FeatureParams(normalization="none", log_magnitude=False),
        )
    assert grid.window_length == 256
    assert spectra.shape == (119 - 6, 32, 249)
    assert grid.pairs(20, 6, False)[0].size == 119 - 6 - 20  # 93
    mean = spectra.mean(axis=(0, 1))
    freqs = spectrum_frequencies(256, sfreq)
    alpha = mean[(freqs >= 8) & (freqs <= 12)].mean()
    beta = mean[(freqs >= 20) & (freqs <= 30)].mean()
    assert alpha > 2.5 * beta  # amplitude ratio; the power ratio is about 19
    assert not spectra[..., 128:].any()
