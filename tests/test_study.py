"""The benchmark study package: its statistics on known inputs, and a quick run."""

import importlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
#: the reference row of the paired tests (benchmarks.study.config.REFERENCE_ROW)
REF = "spec2vol-bridge (default)"


@pytest.fixture(scope="module")
def study():
    """``benchmarks.study`` with its modules as attributes (repository root on
    ``sys.path`` while the fixture is alive)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.syspath_prepend(str(REPO))
        package = importlib.import_module("benchmarks.study")
        for name in ("config", "data", "baselines", "stats", "cli"):
            importlib.import_module(f"benchmarks.study.{name}")
        yield package


def test_scale_volumes_maps_each_volume_to_unit_range(study, rng):
    v = rng.normal(5, 3, size=(4, 2, 3, 3))
    s = study.data.scale_volumes(v)
    flat = s.reshape(4, -1)
    np.testing.assert_allclose(flat.min(1), 0)
    np.testing.assert_allclose(flat.max(1), 1)
    # an affine change of one volume's intensities does not change its scaled values
    v2 = v.copy()
    v2[1] = 7 * v2[1] - 2
    np.testing.assert_allclose(study.data.scale_volumes(v2), s)
    # with a reference, each volume takes the reference volume's min and max
    scaled = study.data.scale_volumes(0.5 * v, reference=v)
    lo = v.reshape(4, -1).min(1)[:, None, None, None]
    hi = v.reshape(4, -1).max(1)[:, None, None, None]
    np.testing.assert_allclose(scaled, (0.5 * v - lo) / (hi - lo))


def test_paired_tests_match_a_hand_computed_t_interval(study):
    from scipy import stats

    ref = [0.50, 0.55, 0.60, 0.52, 0.58]
    other = [0.40, 0.50, 0.45, 0.47, 0.50]
    rows = []
    for name, values in ((REF, ref), ("mean volume", other)):
        for i, value in enumerate(values):
            rows.append(
                {
                    "dataset": "noddi",
                    "row": name,
                    "subject": f"0{i}",
                    "ssim": value,
                    "psnr": 10 * value,
                    "r_network": value,
                    "r_brain": np.nan,
                    "r_parcels": value,
                }
            )
    tests = study.stats.paired_tests(pd.DataFrame(rows))
    ssim = tests[tests["metric"] == "ssim"].iloc[0]
    assert set(tests["metric"]) == set(study.stats.TEST_METRICS)
    d = np.subtract(ref, other)
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    assert ssim["comparison"] == f"{REF} - mean volume"
    assert ssim["n_subjects"] == 5
    np.testing.assert_allclose(ssim["mean_difference"], d.mean())
    np.testing.assert_allclose(
        [ssim["ci95_low"], ssim["ci95_high"]], [d.mean() - half, d.mean() + half]
    )
    np.testing.assert_allclose(ssim["t_test_p"], stats.ttest_rel(ref, other).pvalue)
    assert ssim["t_test_p"] < 0.01
    # all-NaN metric: no test, no crash
    brain = tests[tests["metric"] == "r_brain"].iloc[0]
    assert brain["n_subjects"] == 0 and np.isnan(brain["t_test_p"])


@pytest.mark.slow
def test_quick_study_writes_tables_and_figures(study, tmp_path):
    out = tmp_path / "out"
    argv = [
        "--quick",
        "--datasets",
        "noddi",
        "--ablation-datasets",
        "--jobs",
        "1",
        "--out",
        str(out),
        "--work",
        str(tmp_path / "work"),
    ]
    study.cli.main(argv)
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    rows = set(summary["row"])
    assert rows == {
        "spec2vol-bridge (default)",
        "spec2vol-bridge, network alone",
        "spec2vol-bridge, EEG shifted (null)",
        "spec2vol-bridge, every voxel",
        "ridge (band power)",
        "reduced-rank ridge",
        "interaction ridge (band pairs)",
        "mean volume",
        "time only (null)",
        "ceiling (EEG-visible drive, true HRF)",
        "oracle (noise-free BOLD)",
        "population ceiling (EEG-visible drive, HRF across participants)",
    }  # the whole spec2vol-small runs with --ablations all
    per_subject = pd.read_csv(out / "per_subject.tsv", sep="\t")
    assert set(per_subject["subject"].astype(str).str.zfill(2)) == {
        "01", "02", "03", "04"}
    by_row = summary.set_index("row")
    # the noise-free BOLD follows the measured fluctuations in the network voxels
    assert by_row.loc["oracle (noise-free BOLD)", "r_network_mean"] > 0.5
    assert by_row.loc["oracle (noise-free BOLD)", "r_parcels_mean"] > 0.5
    # the mean volume is constant over time: r = 0, and a high SSIM all the same
    assert by_row.loc["mean volume", "r_network_mean"] == 0
    assert by_row.loc["mean volume", "ssim_mean"] > 0.9
    # trained rows get the shifted-EEG column; the shifted-trained null does not
    assert np.isfinite(by_row.loc["spec2vol-bridge (default)", "r_null_mean"])
    assert np.isnan(
        by_row.loc["spec2vol-bridge, EEG shifted (null)", "r_null_mean"])
    # the ceiling (what the EEG carries) is below the noise-free oracle
    assert (by_row.loc["ceiling (EEG-visible drive, true HRF)", "r_network_mean"]
            <= by_row.loc["oracle (noise-free BOLD)", "r_network_mean"] + 1e-6)
    assert np.isfinite(by_row.loc["ridge (band power)", "r_null_mean"])
    tests = pd.read_csv(out / "paired_tests.tsv", sep="\t")
    # 11 other rows x 5 metrics, plus the reference against its shifted EEG
    assert len(tests) == 11 * 5 + 1
    shifted = tests["comparison"] == (
        "spec2vol-bridge (default) - its EEG shifted at test")
    assert shifted.sum() == 1
    # 4 participants: the bootstrap interval exists wherever the t interval does
    finite_t = np.isfinite(tests["ci95_low"])
    assert finite_t.any()
    assert np.isfinite(tests.loc[finite_t, "bootstrap_ci95_low"]).all()
    assert (out / "figures" / "study_noddi.png").stat().st_size > 10_000
    meta = json.loads((out / "study.json").read_text())
    assert meta["epochs"] == {"default": 1, "paper recipe": 1}
    assert meta["dataset_seeds"] == {"noddi": 0}
    assert meta["environment"]["versions"]["eeg2fmri"]
    assert meta["command"].startswith("python -m benchmarks.study --quick")
    text = (out / "results.md").read_text()
    assert "## noddi" in text and "figures/study_noddi.png" in text
    # the overview: one line per dataset, the default against the ridge
    overview = text.split("## Overview")[1].split("## noddi")[0]
    line = next(li for li in overview.splitlines() if li.startswith("| noddi |"))
    ridge = by_row.loc["ridge (band power)", "r_network_mean"]
    assert f"| {ridge:.3f} |" in line
    # a re-run reuses every finished fit
    study.cli.main(argv)
    assert pd.read_csv(out / "summary.tsv", sep="\t").equals(summary)


def test_shift_permutation_moves_each_run_by_at_least_the_shift(study):
    prov = pd.DataFrame(
        {
            "run_label": ["a"] * 10 + ["b"] * 6,
            "onset": np.r_[np.arange(10) * 2.0, np.arange(6)[::-1] * 2.0],
        }
    )
    perm = study.data.shift_permutation(prov, tr=2.0, seconds=7.0)
    # run a: 4 pairs (8 s >= 7 s) later, wrapping around; rows stay in their run
    np.testing.assert_array_equal(perm[:10], np.roll(np.arange(10), -4))
    assert set(perm[10:]) == set(range(10, 16))
    # run b is stored backwards in time: the shift follows the onsets
    onsets = prov["onset"].to_numpy()
    for i in range(10, 16):
        gap = (onsets[perm[i]] - onsets[i]) % 12.0
        assert gap == 8.0


def test_time_only_null_predicts_the_mean_at_each_volume_index(study, rng):
    index = np.tile(np.arange(5), 3)
    runs = np.repeat(["a", "b", "c"], 5)
    y = rng.normal(size=(15, 1, 2, 2)) + 10
    null = study.baselines.TimeOnlyNull().fit(index, y, runs)
    pred = null.predict(np.array([0, 4, 9]))
    z = np.concatenate(
        [(y[runs == r] - y[runs == r].mean(0)) / y[runs == r].std(0) for r in "abc"]
    )
    scale = np.sqrt(np.mean([y[runs == r].var(0) for r in "abc"], axis=0))
    location = np.mean([y[runs == r].mean(0) for r in "abc"], axis=0)
    np.testing.assert_allclose(
        pred[0], location + scale * z[index == 0].mean(0), rtol=1e-5
    )
    np.testing.assert_allclose(pred[2], location, rtol=1e-6)  # unseen index: the mean


def test_holm_adjustment_by_hand(study):
    p = [0.01, 0.04, np.nan, 0.03, 0.2]
    # sorted: 0.01*4=0.04, 0.03*3=0.09, 0.04*2=0.08 -> 0.09 (monotone), 0.2*1=0.2
    np.testing.assert_allclose(study.stats.holm(p), [0.04, 0.09, np.nan, 0.09, 0.2])


def test_paired_tests_add_a_seeded_bootstrap_interval_and_the_wilcoxon_p(study):
    from scipy import stats

    rng = np.random.default_rng(3)
    ref = rng.normal(0.5, 0.05, size=8)
    other = ref - rng.normal(0.05, 0.02, size=8)
    rows = [
        {"dataset": "noddi", "row": name, "subject": f"{i:02d}", "ssim": value}
        for name, values in ((REF, ref), ("ridge", other))
        for i, value in enumerate(values)
    ]
    table = pd.DataFrame(rows)
    tests = study.stats.paired_tests(table, metrics=("ssim",), random_state=7)
    rec = tests.iloc[0]
    d = ref - other
    np.testing.assert_allclose(rec["wilcoxon_p"], stats.wilcoxon(d).pvalue)
    low, high = rec["bootstrap_ci95_low"], rec["bootstrap_ci95_high"]
    assert low < d.mean() < high
    # the bootstrap resamples the 8 differences: the interval lies within their range
    assert d.min() <= low and high <= d.max()
    # seeded: the same seed gives the same interval, another seed a different one
    again = study.stats.paired_tests(table, metrics=("ssim",), random_state=7)
    assert again.iloc[0]["bootstrap_ci95_low"] == low
    other_seed = study.stats.paired_tests(table, metrics=("ssim",), random_state=8)
    assert other_seed.iloc[0]["bootstrap_ci95_low"] != low


def test_bootstrap_interval_of_a_large_sample_matches_the_t_interval(study):
    d = np.random.default_rng(0).normal(1.0, 2.0, size=400)
    low, high = study.stats.bootstrap_ci(d, n_resamples=4000, random_state=1)
    t_low, t_high = study.stats.t_interval(d)
    # both estimate mean +- 1.96 sd / sqrt(n) (0.196 here) for a normal sample
    np.testing.assert_allclose([low, high], [t_low, t_high], atol=0.03)
    assert np.isnan(study.stats.bootstrap_ci(d[:1])).all()
    # no spread: every statistic is undefined, nothing is reported as significant
    flat = study.stats.compare(np.ones(5), np.zeros(5))
    assert flat["mean_difference"] == 1
    assert np.isnan(flat["t_test_p"]) and np.isnan(flat["bootstrap_ci95_low"])


def test_folds_leave_one_out_fixed_split_and_consecutive_folds(study):
    from dataclasses import replace

    base = replace(study.config.DATASETS["noddi"], n_folds=None)
    subjects = {"01", "02", "03", "04", "05"}
    assert [f for f, _ in study.data.folds(base, subjects)] == [
        "sub-01", "sub-02", "sub-03", "sub-04", "sub-05"
    ]
    fixed = replace(base, n_test=2)
    assert study.data.folds(fixed, subjects) == [("test", ["04", "05"])]
    k = replace(base, n_folds=2)
    assert study.data.folds(k, subjects) == [
        ("fold-1", ["01", "02", "03"]),
        ("fold-2", ["04", "05"]),
    ]
    with pytest.raises(ValueError, match="n_folds of dataset 'noddi'"):
        study.data.folds(replace(base, n_folds=6), subjects)


def test_a_sweep_is_one_dataset_per_value_and_keeps_its_value_when_quick(study):
    sweep = study.config.Sweep("noddi", "n_channels", (16, 64))
    variants = sweep.variants()
    assert list(variants) == ["noddi-n_channels-16", "noddi-n_channels-64"]
    quick = variants["noddi-n_channels-16"].sized(quick=True)
    assert quick.n_channels == 16 and quick.n_subjects == 4  # other quick sizes hold
    assert quick.simulate_kwargs(0)["n_channels"] == 16
    # a simulate_dataset override that is not a dataset field goes to `simulation`
    noise = study.config.Sweep("cnepfl", "bold_noise", (0.01,)).variants()
    spec = noise["cnepfl-bold_noise-0.01"]
    assert spec.simulate_kwargs(5)["bold_noise"] == 0.01
    assert spec.simulate_kwargs(5)["random_state"] == 5 + spec.seed_offset
    assert spec.target_shape == study.config.DATASETS["cnepfl"].target_shape


def test_rows_for_a_dataset_follow_their_groups_and_datasets(study):
    rows_for = study.config.rows_for
    noddi = rows_for("noddi", ablation_datasets=["cnepfl"])
    assert "spec2vol-small, paper recipe" not in noddi  # --ablations all
    assert "correlation loss" not in noddi and "oracle (noise-free BOLD)" in noddi
    cnepfl = rows_for("cnepfl", ablation_datasets=["cnepfl"])
    assert "correlation loss" in cnepfl and "no bridge" not in cnepfl
    assert "spec2vol-small (whole network)" not in cnepfl  # --ablations all
    everything = rows_for("cnepfl", ["cnepfl"], ablations="all")
    assert {"no bridge", "spec2vol-small (whole network)"} <= set(everything)
    # a sweep's variant gets the default model and the ridge, not the extra rows
    variant = rows_for("realistic-n_channels-16", ["cnepfl"])
    assert {study.config.REFERENCE_ROW, "ridge (band power)"} <= set(variant)
    assert "interaction ridge (band pairs)" not in variant
    # table order is the order of ROWS
    order = list(study.config.ROWS)
    assert [order.index(r) for r in cnepfl] == sorted(order.index(r) for r in cnepfl)


def test_baselines_name_only_public_estimator_classes(study):
    from eeg2fmri.estimators import BandPowerRidge

    public_class = study.baselines.public_class
    assert public_class("eeg2fmri.estimators:BandPowerRidge") is BandPowerRidge
    with pytest.raises(ValueError, match="public 'module:Class'"):
        public_class("eeg2fmri._scaling:TargetScaling")
    with pytest.raises(ValueError, match="public 'module:Class'"):
        public_class("eeg2fmri.linear")


def test_variants_pick_values_of_the_sweeps(study):
    args = study.cli.build_parser().parse_args([
        "--datasets", "--sweeps", "seed", "channels",
        "--variants", "realistic-n_channels-16",
    ])
    assert list(study.cli.selected_datasets(args)) == ["realistic-n_channels-16"]
    args.variants = ["realistic-n_channels-17"]
    with pytest.raises(SystemExit, match="--variants: realistic-n_channels-17 is not"):
        study.cli.selected_datasets(args)


def test_unknown_rows_are_an_error_naming_the_option(study, capsys):
    with pytest.raises(SystemExit):
        study.cli.main(["--rows", "no such row", "--quick"])
    assert "--rows: unknown row(s) ['no such row']" in capsys.readouterr().err


@pytest.mark.slow
def test_a_sweep_variant_is_simulated_with_its_setting_and_reported(
    study, tmp_path, monkeypatch
):
    sweep = study.config.Sweep("noddi", "n_channels", (4,))
    monkeypatch.setitem(study.config.SWEEPS, "channels", sweep)
    out, work = tmp_path / "out", tmp_path / "work"
    # a row that runs on cnepfl only: nothing is trained, every baseline is scored
    study.cli.main([
        "--quick", "--datasets", "noddi", "--sweeps", "channels",
        "--ablation-datasets", "--rows", "e2fnet-small, paper recipe",
        "--jobs", "1", "--out", str(out), "--work", str(work),
    ])
    variant = sweep.variants()["noddi-n_channels-4"].sized(quick=True)
    ds = study.data.load_pairs(variant, work / "quick")
    assert ds.X.shape[2] == 4  # electrodes of the variant, not the quick 8
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    assert set(summary["dataset"]) == {"noddi", "noddi-n_channels-4"}
    oracle = summary.set_index(["dataset", "row"]).loc[
        ("noddi-n_channels-4", "oracle (noise-free BOLD)")
    ]
    assert oracle["r_network_mean"] > 0.5
    text = (out / "results.md").read_text()
    assert "## noddi-n_channels-4" in text and "4 channels" in text
    # without results of the reference row there is nothing to compare
    tests = pd.read_csv(out / "paired_tests.tsv", sep="\t")
    assert tests.empty and "holm_p" in tests.columns
