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
                }
            )
    tests = study.paired_tests(pd.DataFrame(rows))
    ssim = tests[tests["metric"] == "ssim"].iloc[0]
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
        "U-Net decoder",
        "e2fnet-small",
        "ridge (band power)",
        "mean volume",
        "oracle (noise-free BOLD)",
    }
    per_subject = pd.read_csv(out / "per_subject.tsv", sep="\t")
    assert set(per_subject["subject"].astype(str).str.zfill(2)) == {"01", "02", "03"}
    by_row = summary.set_index("row")
    # the noise-free BOLD follows the measured fluctuations in the network voxels
    assert by_row.loc["oracle (noise-free BOLD)", "r_network_mean"] > 0.5
    # the mean volume is constant over time: no temporal correlation
    assert np.isnan(by_row.loc["mean volume", "r_network_mean"])
    assert by_row.loc["mean volume", "ssim_mean"] > 0.9
    tests = pd.read_csv(out / "paired_tests.tsv", sep="\t")
    assert len(tests) == 5 * 4  # 5 other rows x 4 metrics
    assert (out / "figures" / "study_noddi.png").stat().st_size > 10_000
    meta = json.loads((out / "study.json").read_text())
    assert meta["epochs"] == 1 and meta["dataset_seeds"] == {"noddi": 0}
    text = (out / "results.md").read_text()
    assert "## noddi" in text and "figures/study_noddi.png" in text
    # a re-run reuses every finished fit
    study.main(argv)
    assert pd.read_csv(out / "summary.tsv", sep="\t").equals(summary)


def test_holm_adjustment_by_hand(study):
    p = [0.01, 0.04, np.nan, 0.03, 0.2]
    # sorted: 0.01*4=0.04, 0.03*3=0.09, 0.04*2=0.08 -> 0.09 (monotone), 0.2*1=0.2
    np.testing.assert_allclose(study.holm(p), [0.04, 0.09, np.nan, 0.09, 0.2])
