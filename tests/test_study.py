"""The benchmark study script: its statistics on known inputs, and a quick run."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

STUDY = Path(__file__).resolve().parents[1] / "benchmarks" / "study.py"


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("eeg2fmri_study", STUDY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_scale_volumes_maps_each_volume_to_unit_range(study, rng):
    v = rng.normal(5, 3, size=(4, 2, 3, 3))
    s = study.scale_volumes(v)
    flat = s.reshape(4, -1)
    np.testing.assert_allclose(flat.min(1), 0)
    np.testing.assert_allclose(flat.max(1), 1)
    # an affine change of one volume's intensities does not change its scaled values
    v2 = v.copy()
    v2[1] = 7 * v2[1] - 2
    np.testing.assert_allclose(study.scale_volumes(v2), s)
    # with a reference, each volume takes the reference volume's min and max
    scaled = study.scale_volumes(0.5 * v, reference=v)
    lo = v.reshape(4, -1).min(1)[:, None, None, None]
    hi = v.reshape(4, -1).max(1)[:, None, None, None]
    np.testing.assert_allclose(scaled, (0.5 * v - lo) / (hi - lo))


def test_paired_tests_match_a_hand_computed_t_interval(study):
    from scipy import stats

    ref = [0.50, 0.55, 0.60, 0.52, 0.58]
    other = [0.40, 0.50, 0.45, 0.47, 0.50]
    rows = []
    for name, values in (("spec2vol-small", ref), ("mean volume", other)):
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
    tests = study.paired_tests(pd.DataFrame(rows))
    ssim = tests[tests["metric"] == "ssim"].iloc[0]
    assert set(tests["metric"]) == set(study.TEST_METRICS)
    d = np.subtract(ref, other)
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    assert ssim["comparison"] == "spec2vol-small - mean volume"
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
    study.main(argv)
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    rows = set(summary["row"])
    assert rows == {
        "spec2vol-small",
        "spec2vol-small, EEG shifted (null)",
        "spec2vol-small, paper recipe",
        "ridge (band power)",
        "reduced-rank ridge",
        "mean volume",
        "time only (null)",
        "oracle (noise-free BOLD)",
    }  # e2fnet-small runs on cnepfl only
    per_subject = pd.read_csv(out / "per_subject.tsv", sep="\t")
    assert set(per_subject["subject"].astype(str).str.zfill(2)) == {"01", "02", "03"}
    by_row = summary.set_index("row")
    # the noise-free BOLD follows the measured fluctuations in the network voxels
    assert by_row.loc["oracle (noise-free BOLD)", "r_network_mean"] > 0.5
    assert by_row.loc["oracle (noise-free BOLD)", "r_parcels_mean"] > 0.5
    # the mean volume is constant over time: r = 0, and a high SSIM all the same
    assert by_row.loc["mean volume", "r_network_mean"] == 0
    assert by_row.loc["mean volume", "ssim_mean"] > 0.9
    # trained rows get the shifted-EEG column; the shifted-trained null does not
    assert np.isfinite(by_row.loc["spec2vol-small", "r_null_mean"])
    assert np.isnan(by_row.loc["spec2vol-small, EEG shifted (null)", "r_null_mean"])
    assert np.isfinite(by_row.loc["ridge (band power)", "r_null_mean"])
    tests = pd.read_csv(out / "paired_tests.tsv", sep="\t")
    # 7 other rows x 5 metrics, plus the reference against its shifted EEG
    assert len(tests) == 7 * 5 + 1
    shifted = tests["comparison"] == "spec2vol-small - its EEG shifted at test"
    assert shifted.sum() == 1
    assert (out / "figures" / "study_noddi.png").stat().st_size > 10_000
    meta = json.loads((out / "study.json").read_text())
    assert meta["epochs"] == {"default": 1, "paper recipe": 1}
    assert meta["dataset_seeds"] == {"noddi": 0}
    text = (out / "results.md").read_text()
    assert "## noddi" in text and "figures/study_noddi.png" in text
    # a re-run reuses every finished fit
    study.main(argv)
    assert pd.read_csv(out / "summary.tsv", sep="\t").equals(summary)


def test_shift_permutation_moves_each_run_by_at_least_the_shift(study):
    prov = pd.DataFrame(
        {
            "run_label": ["a"] * 10 + ["b"] * 6,
            "onset": np.r_[np.arange(10) * 2.0, np.arange(6)[::-1] * 2.0],
        }
    )
    perm = study.shift_permutation(prov, tr=2.0, seconds=7.0)
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
    null = study.TimeOnlyNull().fit(index, y, runs)
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
    np.testing.assert_allclose(study.holm(p), [0.04, 0.09, np.nan, 0.09, 0.2])
