"""BIDS-Derivatives writer: names, headers, sidecars, resume, validator, nilearn."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from eeg2fmri.bids.derivatives import (
    DerivativePath,
    bids_uri,
    volumes_to_nifti_image,
    write_correlation_map,
    write_dataset_description,
    write_metrics_tsv,
    write_synthesized_run,
)

SHAPE = (5, 7, 6)  # (D, H, W): non-cubic on purpose
TR = 1.5


def _validator():
    exe = shutil.which("bids-validator-deno")
    if exe is None:
        candidate = Path(sys.executable).parent / "bids-validator-deno"
        exe = str(candidate) if candidate.exists() else None
    return exe


def _raw(tmp_path):
    raw = tmp_path / "raw"
    (raw / "sub-01" / "eeg").mkdir(parents=True)
    (raw / "sub-01" / "func").mkdir(parents=True)
    (raw / "dataset_description.json").write_text(
        json.dumps({"Name": "raw", "BIDSVersion": "1.9.0", "DatasetDOI": "10.1/x"})
    )
    run = SimpleNamespace(
        subject="01", session="a", task="rest", acquisition=None, run="2",
        eeg_path=raw / "sub-01/ses-a/eeg/sub-01_ses-a_task-rest_run-2_eeg.vhdr",
        bold_path=raw / "sub-01/ses-a/func/sub-01_ses-a_task-rest_run-2_bold.nii.gz",
    )
    return raw, run


def _affine():
    aff = np.diag([3.0, 2.5, 4.0, 1.0])
    aff[:3, 3] = [-9.0, -8.0, -10.0]
    return aff


@pytest.fixture
def written(tmp_path, rng):
    raw, run = _raw(tmp_path)
    out = tmp_path / "out"
    write_dataset_description(out, raw)
    vols = rng.random((9, *SHAPE), dtype=np.float32)
    path = write_synthesized_run(
        out, run, vols, _affine(), TR, np.arange(6, 15),
        dataset_links={"raw": raw}, model={"Name": "spec2vol-tiny", "SHA256": "0" * 64},
        preprocessing={"n_context": 4}, intensity_units="a.u.",
    )
    table = pd.DataFrame({"volume_index": np.arange(6, 15),
                          "onset": np.arange(6, 15) * TR,
                          "ssim": rng.random(9), "psnr": 20 + rng.random(9),
                          "ssim_baseline": np.nan, "psnr_baseline": 15.0})
    write_metrics_tsv(path.update(suffix="metrics", extension=".tsv").fpath, table,
                      summary={"ssim": 0.5})
    r = rng.uniform(-1, 1, SHAPE)
    r[0] = np.nan
    write_correlation_map(path.update(stat="r", suffix="statmap").fpath, r, _affine())
    return SimpleNamespace(out=out, raw=raw, run=run, path=path, vols=vols, r=r)


def test_derivative_path_names():
    p = DerivativePath("out", subject="sub-01", session="ses-2", task="rest", run=1)
    assert p.basename == "sub-01_ses-2_task-rest_run-1_desc-eeg2fmri_bold.nii.gz"
    assert p.relpath.as_posix() == "sub-01/ses-2/func/" + p.basename
    stat = p.update(stat="r", suffix="statmap")
    assert stat.basename.endswith("_desc-eeg2fmri_stat-r_statmap.nii.gz")
    assert Path(p) == p.fpath  # os.fspath works
    with pytest.raises(ValueError, match="alphanumeric"):
        DerivativePath("out", subject="0_1")
    with pytest.raises(ValueError, match="Unknown DerivativePath field"):
        p.update(colour="red")


def test_bids_uri(tmp_path):
    raw = tmp_path / "raw"
    assert bids_uri(raw / "sub-01/eeg/x_eeg.vhdr", {"raw": raw}) == \
        "bids:raw:sub-01/eeg/x_eeg.vhdr"
    # outside every linked dataset: the file name, never an absolute path
    assert bids_uri(tmp_path / "else.txt", {"raw": raw}) == "else.txt"


def test_model_provenance_names_the_file_and_uri_inside_the_output(tmp_path):
    import hashlib

    from eeg2fmri.bids import model_provenance

    out = tmp_path / "out"
    inside = out / "models" / "m.safetensors"
    outside = tmp_path / "work" / "models" / "w.safetensors"
    for path in (inside, outside):
        path.parent.mkdir(parents=True)
        path.write_bytes(path.name.encode())
    info = model_provenance(inside, out)
    assert info == {
        "File": "m.safetensors",
        "SHA256": hashlib.sha256(b"m.safetensors").hexdigest(),
        "URI": "bids::models/m.safetensors",
    }
    info = model_provenance(outside, out)
    assert info["File"] == "w.safetensors" and "URI" not in info
    assert str(tmp_path) not in json.dumps(info)


def test_nifti_layout_header_and_sidecar(written):
    img = nib.load(written.path.fpath)
    # vols[t, k, i, j] -> nifti[i, j, k, t]
    assert img.shape == (7, 6, 5, 9)
    data = np.asarray(img.dataobj)
    np.testing.assert_allclose(data[3, 2, 1, 4], written.vols[4, 1, 3, 2])
    np.testing.assert_allclose(img.affine, _affine())
    assert img.header.get_xyzt_units() == ("mm", "sec")
    assert img.header.get_zooms() == pytest.approx((3.0, 2.5, 4.0, TR))
    assert int(img.header["sform_code"]) == 1 and int(img.header["qform_code"]) == 1
    meta = json.loads(written.path.update(extension=".json").fpath.read_text())
    assert meta["RepetitionTime"] == TR and meta["TaskName"] == "rest"
    assert meta["SkullStripped"] is False
    assert meta["Sources"] == [
        "bids:raw:sub-01/ses-a/eeg/sub-01_ses-a_task-rest_run-2_eeg.vhdr",
        "bids:raw:sub-01/ses-a/func/sub-01_ses-a_task-rest_run-2_bold.nii.gz",
    ]
    assert meta["SourceVolumeIndices"] == list(range(6, 15))
    assert meta["StartTimeOffset"] == pytest.approx(6 * TR)
    assert meta["Model"]["Name"] == "spec2vol-tiny"
    desc = json.loads((written.out / "dataset_description.json").read_text())
    assert desc["DatasetType"] == "derivative"
    assert desc["GeneratedBy"][0]["Name"] == "eeg2fmri"
    # a relative link, no absolute path of this machine (the output is a sibling)
    assert desc["DatasetLinks"]["raw"] == Path(
        os.path.relpath(written.raw.resolve(), written.out.resolve())
    ).as_posix()
    assert not desc["DatasetLinks"]["raw"].startswith(("/", "file:"))
    assert desc["SourceDatasets"][0]["URL"] == "bids:raw:"
    assert desc["SourceDatasets"][0]["DOI"] == "10.1/x"
    tsv = (written.path.fpath.parent / written.path.update(
        suffix="metrics", extension=".tsv").basename).read_text()
    assert "n/a" in tsv and tsv.splitlines()[0].split("\t")[0] == "volume_index"
    r_img = nib.load(written.path.update(stat="r", suffix="statmap").fpath)
    r = np.asarray(r_img.dataobj)
    assert r_img.shape == (7, 6, 5) and np.isfinite(r).all()
    assert np.all(r[:, :, 0] == 0)  # NaN slice written as 0


def test_description_from_a_layout_or_bids_path(tmp_path):
    from bids import BIDSLayout
    from mne_bids import BIDSPath

    raw, _ = _raw(tmp_path)
    for n, source in enumerate((BIDSLayout(raw), BIDSPath(root=raw))):
        out = tmp_path / f"out{n}"
        write_dataset_description(out, source)
        desc = json.loads((out / "dataset_description.json").read_text())
        assert desc["DatasetLinks"]["raw"] == "../raw"
    assert bids_uri(raw / "sub-01/eeg/x_eeg.vhdr", {"raw": BIDSLayout(raw)}) == (
        "bids:raw:sub-01/eeg/x_eeg.vhdr")


def test_nested_derivative_links_relatively(tmp_path, rng):
    raw, run = _raw(tmp_path)
    out = raw / "derivatives" / "eeg2fmri"
    write_dataset_description(out, raw)
    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["DatasetLinks"]["raw"] == "../.."


def test_existing_files_are_kept_and_no_temp_files_remain(written, rng, monkeypatch):
    path = written.path.fpath
    before = path.read_bytes()
    # resume: an existing (complete, atomically written) file is not rewritten
    write_synthesized_run(written.out, written.run, rng.random((9, *SHAPE)), _affine(),
                          TR, np.arange(6, 15), dataset_links={"raw": written.raw})
    assert path.read_bytes() == before
    # an interrupted write leaves nothing behind
    def boom(img, tmp):
        Path(tmp).write_bytes(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr("nibabel.save", boom)
    run2 = SimpleNamespace(**{**vars(written.run), "run": "3"})
    with pytest.raises(KeyboardInterrupt):
        write_synthesized_run(written.out, run2, rng.random((9, *SHAPE)), _affine(), TR,
                              np.arange(6, 15))
    names = [p.name for p in path.parent.iterdir()]
    assert not any("run-3" in n for n in names), names


def test_bad_arguments(tmp_path, rng):
    raw, run = _raw(tmp_path)
    with pytest.raises(ValueError, match="volume_indices has 2 entries"):
        write_synthesized_run(tmp_path / "o", run, rng.random((3, *SHAPE)), _affine(),
                              TR, [0, 1])
    with pytest.raises(ValueError, match="tr must be a positive"):
        volumes_to_nifti_image(rng.random((3, *SHAPE)), _affine(), tr=0)
    with pytest.raises(ValueError, match="affine must have shape"):
        volumes_to_nifti_image(rng.random(SHAPE), np.eye(3))


def test_nilearn_reads_outputs(written):
    pytest.importorskip("nilearn")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nilearn import image, plotting
    from nilearn.maskers import NiftiMasker

    img = image.load_img(written.path.fpath)
    assert img.header.get_zooms()[3] == pytest.approx(TR)
    np.testing.assert_allclose(img.affine, _affine())
    mean = image.mean_img(img, copy_header=True)
    display = plotting.plot_epi(mean)
    display.close()
    mask = nib.Nifti1Image(np.ones(mean.shape, np.int8), mean.affine)
    masker = NiftiMasker(mask_img=mask, t_r=TR, standardize=None)
    ts = masker.fit_transform(img)
    assert ts.shape == (9, int(np.prod(SHAPE)))
    fig = plt.figure()
    plotting.plot_carpet(img, mask_img=mask, figure=fig)  # TR from the header
    plt.close("all")


def test_validator_accepts_derivatives(written):
    exe = _validator()
    if exe is None:
        pytest.skip("bids-validator-deno is not installed (pip install it)")
    proc = subprocess.run([exe, str(written.out), "--format", "json"],
                          capture_output=True, text=True, timeout=300)
    report = json.loads(proc.stdout)
    errors = [i for i in report["issues"]["issues"] if i["severity"] == "error"]
    assert proc.returncode == 0, errors
    assert not errors
