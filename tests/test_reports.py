"""Participant and group reports: figures on disk, self-contained HTML."""

import base64
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from eeg2fmri.metrics import psnr_per_volume, ssim_per_volume, temporal_correlation
from eeg2fmri.reports import (
    ParticipantReport,
    RunResult,
    plot_training_curves,
    plot_volume_comparison,
    write_group_report,
)

D, H, W = 6, 12, 10


@pytest.fixture(scope="module")
def run_result():
    rng = np.random.default_rng(0)
    zz, yy, xx = np.meshgrid(np.linspace(-1, 1, D), np.linspace(-1, 1, H),
                             np.linspace(-1, 1, W), indexing="ij")
    brain = (zz**2 / 1.5 + yy**2 + xx**2 < 0.8).astype(np.float32)
    drive = rng.standard_normal(20).cumsum()[:, None, None, None]
    noise = rng.random((2, 20, D, H, W))
    measured = brain * (1 + 0.05 * drive * (xx > 0)) + 0.02 * noise[0]
    synthesized = brain * (1 + 0.04 * drive * (xx > 0)) + 0.03 * noise[1]
    baseline = np.repeat(measured.mean(0, keepdims=True), 20, axis=0)
    affine = np.diag([3.0, 3.0, 4.0, 1.0])
    mask = brain > 0
    r = temporal_correlation(measured, synthesized, mask)
    table = pd.DataFrame({
        "volume_index": np.arange(10, 30), "onset": np.arange(10, 30) * 2.0,
        "ssim": ssim_per_volume(measured, synthesized),
        "psnr": psnr_per_volume(measured, synthesized),
        "ssim_baseline": ssim_per_volume(measured, baseline),
        "psnr_baseline": psnr_per_volume(measured, baseline),
    })
    return RunResult(
        label="sub-01_task-rest", measured=measured.astype(np.float32),
        synthesized=synthesized.astype(np.float32), baseline=baseline, affine=affine,
        tr=2.0, volume_indices=np.arange(10, 30), metrics=table,
        r_map=np.nan_to_num(r), mask=mask,
        summary={"ssim": table["ssim"].mean(), "psnr": table["psnr"].mean(),
                 "temporal_r": float(np.nanmean(r))},
        files={"bold": "sub-01/func/sub-01_task-rest_desc-eeg2fmri_bold.nii.gz"},
    )


def test_participant_report(tmp_path, run_result):
    history = [{"epoch": i, "train_loss": 1 / i, "val_ssim": 0.1 * i, "lr": 1e-3,
                "seconds": 1.0} for i in range(1, 4)]
    report = ParticipantReport(
        "01", tmp_path, command="eeg2fmri bids out participant <&>",
        model_info={"Name": "spec2vol-tiny", "Scheme": "leave-one-subject-out",
                    "TrainingParticipants": ["sub-02"], "SHA256": "ab" * 32,
                    "File": "m.safetensors"},
        history=history, config={"epochs": 1, "model": None},
    )
    report.add_run(run_result)
    path = report.save_as_html(tmp_path / "sub-01.html")
    html = path.read_text()
    figures = sorted(p.name for p in (tmp_path / "sub-01" / "figures").iterdir())
    assert figures == [
        "desc-training_curves.png",
        "sub-01_task-rest_desc-globalsignal_timeseries.png",
        "sub-01_task-rest_desc-metrics_violin.png",
        "sub-01_task-rest_desc-slices_bold.png",
        "sub-01_task-rest_desc-tcorr_statmap.png",
    ]
    # every figure is inlined (the report opens offline on its own) and is a real PNG
    uris = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(uris) == len(figures)
    assert all(base64.b64decode(u)[:8] == b"\x89PNG\r\n\x1a\n" for u in uris)
    assert 'src="http' not in html and "<script" not in html
    # content: command escaped, model, scores, versions
    assert "eeg2fmri bids out participant &lt;&amp;&gt;" in html
    assert "spec2vol-tiny" in html and "sub-02" in html
    assert f"{run_result.metrics['ssim'].mean():.3f}" in html
    assert "Versions" in html and report._repr_html_() == html


def test_volume_comparison_rows(run_result):
    fig = plot_volume_comparison(run_result.measured[0], run_result.synthesized[0],
                                 run_result.affine, baseline=run_result.baseline[0],
                                 n_slices=3)
    labels = [t.get_text() for t in fig.texts]
    assert labels == ["Measured", "Synthesized", "Mean-volume baseline",
                      "|Synthesized - measured|"]
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_training_curves_accept_common_layouts():
    assert plot_training_curves(None) is None
    assert plot_training_curves([]) is None
    fig = plot_training_curves({"train_loss": [1.0, 0.5], "val_ssim": [0.1, 0.2],
                                "val_psnr": [3.0, 4.0], "seconds": [9.0, 9.0]})
    assert fig is not None and len(fig.axes) == 3  # loss, SSIM, PSNR (not seconds)
    import matplotlib.pyplot as plt

    plt.close("all")


def test_group_report(tmp_path):
    table = pd.DataFrame({
        "participant_id": ["sub-01", "sub-02", "sub-03"], "n_runs": [1, 1, 1],
        "n_volumes": [30, 30, 30], "ssim": [0.60, 0.62, 0.58],
        "psnr": [20.0, 21.0, 19.5], "temporal_r": [0.3, 0.35, 0.2],
        "ssim_baseline": [0.55, 0.57, 0.50], "psnr_baseline": [18.0, 19.0, 18.5],
        "temporal_r_baseline": [np.nan] * 3,
    })
    path = write_group_report(tmp_path / "group_report.html", table)
    html = path.read_text()
    assert (tmp_path / "figures" / "group_desc-metrics_violin.png").is_file()
    assert "0.600 ± 0.020" in html  # SSIM mean ± std (ddof 1)
    assert "20.17 ± 0.76" in html  # PSNR
    assert 'href="sub-02.html"' in html
    assert html.count("data:image/png;base64,") == 1
