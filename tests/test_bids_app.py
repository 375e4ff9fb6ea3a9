"""The eeg2fmri BIDS-App end to end: participant and group levels, guard rails, exits.

One participant-level run (LOSO model for sub-01 of the session dataset, tiny settings)
is shared by the tests through a module fixture; broken datasets fail before training.
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest

from bids_app.config import Config
from bids_app.parser import build_parser
from bids_app.run import main

TINY = ["--model-name", "spec2vol-tiny", "--epochs", "1", "--n-context", "4",
        "--batch-size", "8", "--random-seed", "0", "--omp-nthreads", "1"]


def _tree_digest(root):
    """Checksum of every file (path, size, content) under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(Path(root).rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(root)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _validator():
    exe = shutil.which("bids-validator-deno")
    if exe is None:
        candidate = Path(sys.executable).parent / "bids-validator-deno"
        exe = str(candidate) if candidate.exists() else None
    return exe


def _errors_of(out):
    exe = _validator()
    if exe is None:
        pytest.skip("bids-validator-deno is not installed (pip install it)")
    proc = subprocess.run([exe, str(out), "--format", "json"], capture_output=True,
                          text=True, timeout=300)
    issues = json.loads(proc.stdout)["issues"]["issues"]
    return proc.returncode, [(i["code"], i.get("location")) for i in issues
                             if i["severity"] == "error"]


@pytest.fixture(scope="module")
def app_run(sim_bids, tmp_path_factory):
    """participant (sub-01, LOSO) then group on the session dataset."""
    root = tmp_path_factory.mktemp("app")
    before = _tree_digest(sim_bids)
    out, work = root / "out", root / "work"
    argv = [str(sim_bids), str(out), "participant", "group", "--participant-label",
            "sub-01", "-w", str(work), *TINY]
    code = main(argv)
    return {"code": code, "out": out, "work": work, "bids": sim_bids, "argv": argv,
            "digest_before": before, "digest_after": _tree_digest(sim_bids)}


def _absolute_paths_in_json(root, *local):
    """(file, value) of every JSON string under ``root`` that is an absolute path,
    a ``file:`` URI or contains one of the ``local`` folders."""
    local = [str(Path(p).resolve()) for p in local] + [str(p) for p in local]
    found = []

    def walk(obj, path):
        if isinstance(obj, dict):
            for value in obj.values():
                walk(value, path)
        elif isinstance(obj, list):
            for value in obj:
                walk(value, path)
        elif isinstance(obj, str) and (
            obj.startswith(("/", "file:", "~")) or any(p in obj for p in local)
            or (len(obj) > 2 and obj[1:3] in (":\\", ":/"))  # C:\ or C:/
        ):
            found.append((path.relative_to(root).as_posix(), obj))

    for path in sorted(Path(root).rglob("*.json")):
        walk(json.loads(path.read_text(encoding="utf-8")), path)
    return found


def test_no_absolute_path_in_derivative_json(app_run):
    """Sidecars, descriptions and metrics JSON name files relatively (BIDS URIs,
    relative dataset links, model file names), never by a path of this machine."""
    out = app_run["out"]
    assert len(list(out.rglob("*.json"))) >= 4
    assert _absolute_paths_in_json(out, app_run["work"], app_run["bids"],
                                   out.parent) == []
    desc = json.loads((out / "dataset_description.json").read_text())
    assert desc["DatasetLinks"]["raw"] == os.path.relpath(app_run["bids"], out)


def test_derivatives_queried_by_pybids(app_run):
    """pybids indexes the output as a derivative dataset: entities, TR, desc."""
    from bids import BIDSLayout

    layout = BIDSLayout(app_run["bids"], derivatives=app_run["out"])
    files = layout.get(scope="eeg2fmri", suffix="bold", extension=".nii.gz")
    assert [f.filename for f in files] == [
        "sub-01_task-rest_desc-eeg2fmri_bold.nii.gz"]
    ents = files[0].get_entities()
    assert (ents["subject"], ents["task"], ents["desc"], ents["datatype"]) == (
        "01", "rest", "eeg2fmri", "func")
    assert layout.get(scope="eeg2fmri", desc="eeg2fmri", suffix="bold",
                      subject="01", return_type="id", target="task") == ["rest"]
    meta = layout.get_metadata(files[0].path)
    assert meta["RepetitionTime"] == pytest.approx(2.16)
    assert layout.get_tr(derivatives=True, desc="eeg2fmri") == pytest.approx(2.16)
    # whole runs: every volume the EEG covers, incomplete contexts marked
    assert meta["SourceVolumeIndices"] == list(range(40))
    assert meta["FramesWithIncompleteContext"] == [0, 1, 2, 3]  # n_context 4
    # the header agrees with the sidecar
    assert files[0].get_image().header.get_zooms()[3] == pytest.approx(2.16)
    # the raw scope is untouched: only the raw BOLD of sub-01
    raw = layout.get(scope="raw", subject="01", suffix="bold", extension=".nii.gz")
    assert [f.filename for f in raw] == ["sub-01_task-rest_bold.nii.gz"]


def test_participant_and_group_outputs(app_run):
    assert app_run["code"] == 0
    out = app_run["out"]
    func = out / "sub-01" / "func"
    stem = "sub-01_task-rest_desc-eeg2fmri"
    for name in (f"{stem}_bold.nii.gz", f"{stem}_bold.json", f"{stem}_metrics.tsv",
                 f"{stem}_metrics.json", f"{stem}_stat-r_statmap.nii.gz"):
        assert (func / name).is_file(), name
    assert not (out / "sub-02").exists()  # only the selected participant
    assert (out / "sub-01.html").is_file()
    assert len(list((out / "sub-01" / "figures").glob("*.png"))) >= 4
    html = (out / "sub-01.html").read_text()
    assert "data:image/png;base64," in html and "spec2vol-tiny" in html
    assert " ".join(["eeg2fmri", *app_run["argv"]]) in html  # the exact command
    # the input dataset was never written to
    assert app_run["digest_after"] == app_run["digest_before"]
    assert not list(app_run["bids"].rglob("*eeg2fmri*"))

    meta = json.loads((func / f"{stem}_bold.json").read_text())
    # default recipe: voxel-wise standardized targets, mapped back to scanner units
    assert "standard deviation" in meta["IntensityUnits"]
    summary = json.loads((func / f"{stem}_metrics.json").read_text())["Summary"]
    assert summary["temporal_r_baseline"] == 0.0  # the mean volume does not change
    assert np.isfinite(summary["temporal_r"])
    # beside the network: the band-power ridge of the same training participants,
    # over the brain and in the network's signal voxels (chosen on sub-02, sub-03)
    assert np.isfinite(summary["temporal_r_ridge"])
    assert summary["temporal_r_ridge"] != summary["temporal_r"]
    if summary["n_voxels_signal"]:
        assert np.isfinite(summary["temporal_r_signal"])
        assert np.isfinite(summary["temporal_r_signal_ridge"])
        assert summary["temporal_r_signal_baseline"] == 0.0
    assert "band-power ridge:" in html and "signal voxels" in html
    src_bold = app_run["bids"] / "sub-01/func/sub-01_task-rest_bold.nii.gz"
    assert meta["RepetitionTime"] == pytest.approx(2.16)
    assert meta["Sources"] == ["bids:raw:sub-01/eeg/sub-01_task-rest_eeg.vhdr",
                               "bids:raw:sub-01/func/sub-01_task-rest_bold.nii.gz"]
    # 40 volumes - 6 discarded - 4 context windows
    # whole runs: every volume the EEG covers, incomplete contexts marked
    assert meta["SourceVolumeIndices"] == list(range(40))
    assert meta["FramesWithIncompleteContext"] == [0, 1, 2, 3]  # n_context 4
    model = meta["Model"]
    assert model["TrainingParticipants"] == ["sub-02", "sub-03"]
    assert model["Scheme"] == "leave-one-subject-out"
    # the model is named by file name and digest: no path of the work dir
    assert "/" not in model["File"] and "URI" not in model  # it is not in the output
    weights = app_run["work"] / "models" / model["File"]
    digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert digest == model["SHA256"]
    assert meta["Preprocessing"]["FeatureParams"]["n_context"] == 4

    img = nib.load(func / f"{stem}_bold.nii.gz")
    src = nib.load(src_bold)
    assert img.shape == (*src.shape[:3], 40)  # every volume
    np.testing.assert_allclose(img.affine, src.affine, atol=1e-5)
    assert img.header.get_zooms()[3] == pytest.approx(2.16)

    metrics = pd.read_csv(func / f"{stem}_metrics.tsv", sep="\t", na_values="n/a")
    assert list(metrics["volume_index"]) == list(range(40))
    # scored: steady state (discard_volumes=6) and a complete context (n_context=4)
    assert list(metrics["scored"]) == [0] * 6 + [1] * 34
    assert list(metrics["context_complete"]) == [0] * 4 + [1] * 36
    columns = ["ssim", "psnr", "ssim_baseline", "psnr_baseline"]
    assert metrics[columns].notna().all().all()
    assert (metrics["ssim"] <= 1).all() and (metrics["ssim_baseline"] > 0.5).all()

    group = pd.read_csv(out / "group_metrics.tsv", sep="\t", na_values="n/a")
    assert list(group["participant_id"]) == ["sub-01", "mean", "std"]
    scored = metrics[metrics["scored"] == 1]
    assert group.loc[0, "ssim"] == pytest.approx(scored["ssim"].mean(), abs=1e-5)
    assert group.loc[0, "n_volumes"] == 34
    assert group.loc[0, "temporal_r_ridge"] == pytest.approx(
        summary["temporal_r_ridge"], abs=1e-6)
    assert (out / "group_report.html").is_file()
    assert Config.load(out / "logs" / "config.toml").participant_label == ("01",)


def test_derivatives_pass_the_validator(app_run):
    code, errors = _errors_of(app_run["out"])
    assert errors == [] and code == 0


def test_nilearn_uses_the_outputs(app_run):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from nilearn import image, plotting
    from nilearn.maskers import NiftiMasker

    func = app_run["out"] / "sub-01" / "func"
    img = image.load_img(func / "sub-01_task-rest_desc-eeg2fmri_bold.nii.gz")
    src = image.load_img(app_run["bids"] / "sub-01/func/sub-01_task-rest_bold.nii.gz")
    assert img.header.get_zooms()[3] == pytest.approx(2.16)
    np.testing.assert_allclose(img.affine, src.affine, atol=1e-5)
    mean = image.mean_img(img, copy_header=True)
    plotting.plot_epi(mean).close()
    r_img = image.load_img(func / "sub-01_task-rest_desc-eeg2fmri_stat-r_statmap.nii.gz"
                           )
    mask = image.math_img("(np.abs(r) > 0).astype('int8')", r=r_img)
    masker = NiftiMasker(mask_img=mask, t_r=2.16, standardize=None)
    ts = masker.fit_transform(img)
    assert ts.shape == (40, int(np.asarray(mask.dataobj).sum()))
    fig = plt.figure()
    plotting.plot_carpet(img, mask_img=mask, figure=fig)  # TR from the header
    plt.close("all")


def test_config_file_values_are_overridden_by_flags(app_run, tmp_path):
    cfg_path = app_run["out"] / "logs" / "config.toml"
    parser = build_parser()
    opts = parser.parse_args([str(app_run["bids"]), str(tmp_path / "o"), "participant",
                              "--config-file", str(cfg_path), "--epochs", "3"])
    from bids_app.run import config_from_args

    config = config_from_args(opts)
    assert config.epochs == 3  # flag wins
    assert config.model_name == "spec2vol-tiny"  # from the file
    assert config.n_context == 4
    assert config.output_dir == tmp_path / "o"


def test_interrupted_run_resumes(app_run, tmp_path, monkeypatch, capsys):
    """A crash after the first file leaves complete files only; a re-run completes."""
    import eeg2fmri.pipeline.outputs as wf

    out = tmp_path / "out"
    model = next((app_run["work"] / "models").glob("*.safetensors"))
    argv = [str(app_run["bids"]), str(out), "participant", "--participant-label", "02",
            "-w", str(app_run["work"]), "--model", str(model), "--skip-bids-validation"]

    def crash(*args, **kwargs):
        raise RuntimeError("simulated crash after the first file")

    monkeypatch.setattr(wf, "write_metrics_tsv", crash)
    assert main(argv) == 70
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = [x for x in err.splitlines() if "error:" in x]
    assert len(line) == 1 and "simulated crash" in line[0] and "crash_" in line[0]
    func = out / "sub-02" / "func"
    bold = func / "sub-02_task-rest_desc-eeg2fmri_bold.nii.gz"
    assert bold.is_file() and nib.load(bold).shape[-1] == 40  # complete
    assert not (func / "sub-02_task-rest_desc-eeg2fmri_metrics.tsv").exists()
    # no temporary file left behind
    assert not [p.name for p in func.iterdir() if p.name.startswith(".")]
    assert not (out / "sub-02.html").exists()
    mtime = bold.stat().st_mtime_ns

    monkeypatch.undo()
    assert main(argv) == 0
    assert (func / "sub-02_task-rest_desc-eeg2fmri_metrics.tsv").is_file()
    assert (out / "sub-02.html").is_file()
    assert bold.stat().st_mtime_ns == mtime  # kept, not rewritten
    meta = json.loads(bold.with_name(bold.name.replace(".nii.gz", ".json")).read_text())
    assert meta["Model"]["Scheme"] == "given (--model)"
    # a third run finds everything complete
    assert main(argv) == 0
    assert "outputs complete, skipped" in capsys.readouterr().err


# ------------------------------------------------------------------ bad invocations


def _copy(sim_bids, tmp_path):
    dst = tmp_path / "bids"
    shutil.copytree(sim_bids, dst, ignore=shutil.ignore_patterns("derivatives"))
    return dst


def _no_tr(bids):
    side = bids / "task-rest_bold.json"
    meta = json.loads(side.read_text())
    meta.pop("RepetitionTime")
    side.write_text(json.dumps(meta))
    for path in bids.glob("sub-*/func/*_bold.nii.gz"):
        img = nib.load(path)
        img = nib.Nifti1Image(np.asarray(img.dataobj), img.affine)
        img.header.set_xyzt_units("mm", "unknown")
        img.header["pixdim"][4] = 0
        nib.save(img, path)


def _no_triggers(bids):
    for vmrk in bids.glob("sub-*/eeg/*.vmrk"):
        lines = vmrk.read_text().splitlines()
        vmrk.write_text("\n".join(
            x for x in lines if "Scan Start" not in x and "Volume" not in x) + "\n")


def _no_eeg(bids):
    for folder in bids.glob("sub-*/eeg"):
        shutil.rmtree(folder)


def _corrupt_nifti(bids):
    (bids / "sub-01/func/sub-01_task-rest_bold.nii.gz").write_bytes(b"not a nifti" * 10)


def _empty_eeg(bids):
    (bids / "sub-01/eeg/sub-01_task-rest_eeg.eeg").write_bytes(b"")


def _no_description(bids):
    (bids / "dataset_description.json").unlink()


BROKEN = [
    # (id, breaker, extra flags, exit code, words the message must contain)
    ("missing-tr", _no_tr, [], 65, ["RepetitionTime"]),
    ("no-triggers-required", _no_triggers, ["--require-triggers"], 65,
     ["sub-01", "trigger"]),
    ("no-triggers-named", _no_triggers, ["--volume-marker", "Scanner/Scan Start"], 65,
     ["Scan Start"]),
    ("no-paired-runs", _no_eeg, [], 18, ["EEG"]),
    ("corrupt-nifti", _corrupt_nifti, [], None, ["sub-01_task-rest_bold.nii.gz"]),
    ("empty-eeg", _empty_eeg, [], None, ["sub-01_task-rest_eeg"]),
    ("invalid-dataset", _no_description, ["--no-skip"], 16, ["dataset_description"]),
]


@pytest.mark.parametrize(("breaker", "flags", "code", "words"),
                         [b[1:] for b in BROKEN], ids=[b[0] for b in BROKEN])
def test_broken_datasets(sim_bids, tmp_path, capsys, breaker, flags, code, words):
    bids = _copy(sim_bids, tmp_path)
    breaker(bids)
    skip = [] if "--no-skip" in flags else ["--skip-bids-validation"]
    flags = [f for f in flags if f != "--no-skip"]
    argv = [str(bids), str(tmp_path / "out"), "participant", "--participant-label",
            "01", "-w", str(tmp_path / "work"), *skip, *flags, *TINY]
    result = main(argv)
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if x.startswith("eeg2fmri: error:")]
    assert len(lines) == 1, err
    if code is None:  # unreadable file: missing input or unusable data
        assert result in (65, 66), lines[0]
    else:
        assert result == code, lines[0]
    for word in words:
        assert word.lower() in lines[0].lower(), lines[0]
    assert not (tmp_path / "out" / "sub-01" / "func").exists()


BAD_ARGS = [
    # (id, argv builder, exit code, words)
    ("unknown-level", lambda b, t: [b, t / "o", "subject"], 17, ["subject"]),
    ("out-is-input", lambda b, t: [b, b, "participant"], 64,
     ["derivatives/eeg2fmri"]),
    ("out-inside-input", lambda b, t: [b, b / "sub-01" / "o", "participant"], 64,
     ["inside the input"]),
    ("work-inside-input", lambda b, t: [b, t / "o", "participant", "-w", b / "w"], 64,
     ["work folder"]),
    ("missing-input", lambda b, t: [t / "nope", t / "o", "participant"], 66, ["nope"]),
    ("unknown-participant", lambda b, t: [b, t / "o", "participant",
                                          "--participant-label", "99",
                                          "--skip-bids-validation"], 18,
     ["sub-99", "sub-01"]),
    ("bad-epochs", lambda b, t: [b, t / "o", "participant", "--epochs", "0"], 64,
     ["--epochs"]),
    ("unknown-flag", lambda b, t: [b, t / "o", "participant", "--colour"], 64,
     ["--colour"]),
    ("missing-model", lambda b, t: [b, t / "o", "participant", "--model",
                                    t / "m.safetensors"], 66, ["--model"]),
    ("bad-config", lambda b, t: [b, t / "o", "participant", "--config-file",
                                 t / "bad.toml"], 64, ["epoks"]),
    ("bad-filter", lambda b, t: [b, t / "o", "participant", "--bids-filter-file",
                                 t / "filter.json", "--skip-bids-validation"], 64,
     ["spaceship"]),
    ("unknown-model", lambda b, t: [b, t / "o", "participant", "--model-name",
                                    "spec2vol-smal", "--skip-bids-validation"], 64,
     ["spec2vol-smal", "did you mean 'spec2vol-small'"]),
    ("unknown-recipe", lambda b, t: [b, t / "o", "participant", "--recipe", "paper"],
     64, ["--recipe", "official"]),
]


@pytest.mark.parametrize(("build", "code", "words"), [b[1:] for b in BAD_ARGS],
                         ids=[b[0] for b in BAD_ARGS])
def test_bad_invocations(sim_bids, tmp_path, capsys, build, code, words):
    (tmp_path / "bad.toml").write_text("epoks = 3\n")
    (tmp_path / "filter.json").write_text('{"bold": {"spaceship": "x"}}')
    before = _tree_digest(sim_bids)
    argv = [str(a) for a in build(sim_bids, tmp_path)]
    assert main(argv) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [x for x in err.splitlines() if "error:" in x]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], lines[0]
    assert _tree_digest(sim_bids) == before


def test_help_and_version(capsys):
    assert main(["--version"]) == 0
    assert "eeg2fmri" in capsys.readouterr().out
    assert main(["--help"]) == 0
    text = capsys.readouterr().out
    for flag in ("--participant-label", "--bids-filter-file", "--eeg-derivatives",
                 "--skip-bids-validation", "--work-dir", "--nprocs", "--omp-nthreads",
                 "--config-file", "--random-seed", "--device", "--model",
                 "--model-name", "--epochs", "--save-model", "--require-triggers"):
        assert flag in text


def test_parser_aliases_strip_prefixes(tmp_path):
    opts = build_parser().parse_args(
        [str(tmp_path), str(tmp_path / "o"), "participant", "group",
         "--participant_label", "sub-01", "02", "--session-label", "ses-1", "-vv"])
    config = Config.from_dict(vars(opts))
    assert config.participant_label == ("01", "02")
    assert config.session_label == ("1",)
    assert config.analysis_level == ("participant", "group")
    assert config.verbose == 2
    # round trip through TOML
    path = config.to_filename(tmp_path / "c.toml")
    assert Config.load(path) == config


def test_console_script(sim_bids, tmp_path):
    exe = shutil.which("eeg2fmri") or str(Path(sys.executable).parent / "eeg2fmri")
    if not Path(exe).exists():
        pytest.skip("the eeg2fmri console script is not installed")
    proc = subprocess.run([exe, str(sim_bids), str(sim_bids), "participant"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONWARNINGS": "ignore"})
    assert proc.returncode == 64
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("eeg2fmri: error:")
    assert len(proc.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ oddball preset


@pytest.mark.slow
def test_oddball_end_to_end(tmp_path):
    """Task data (Response/R128 triggers, events): --save-model, --model, group."""
    from eeg2fmri.simulate import simulate_dataset

    bids = simulate_dataset(tmp_path / "odd", preset="oddball", n_subjects=2,
                            n_volumes=22, n_channels=8, sfreq=250.0,
                            bold_shape=(6, 12, 10), random_state=1)
    before = _tree_digest(bids)
    out = tmp_path / "out"
    common = ["-w", str(tmp_path / "work"), "--skip-bids-validation",
              "--volume-marker", "R128", "--require-triggers", *TINY]
    # without participant outputs the group level has nothing to aggregate ...
    assert main([str(bids), str(out), "group", *common]) == 18
    # ... but with --save-model it trains on every participant and saves the model
    assert main([str(bids), str(out), "group", "--save-model", *common]) == 0
    models = list((out / "models").glob("*.safetensors"))
    assert len(models) == 1 and models[0].with_suffix(".json").is_file()
    # apply the saved model (no training), then aggregate
    assert main([str(bids), str(out), "participant", "group", "--participant-label",
                 "01", "--model", str(models[0]), *common]) == 0
    assert _tree_digest(bids) == before
    func = out / "sub-01" / "func"
    img = nib.load(func / "sub-01_task-oddball_desc-eeg2fmri_bold.nii.gz")
    assert img.shape == (12, 10, 6, 22)  # every volume
    assert img.header.get_zooms()[3] == pytest.approx(2.0)
    meta = json.loads(
        (func / "sub-01_task-oddball_desc-eeg2fmri_bold.json").read_text())
    assert meta["TaskName"] == "oddball"
    assert meta["Model"]["Scheme"] == "given (--model)"
    assert meta["Model"]["TrainingParticipants"] == ["sub-01", "sub-02"]
    # the model lies in the output dataset: named by a BIDS URI too
    assert meta["Model"]["File"] == models[0].name
    assert meta["Model"]["URI"] == f"bids::models/{models[0].name}"
    assert json.loads(models[0].with_suffix(".json").read_text())["params"][
        "checkpoint_dir"] is None
    assert _absolute_paths_in_json(out, tmp_path) == []
    assert meta["Preprocessing"]["FeatureParams"]["n_context"] == 4
    metrics = pd.read_csv(func / "sub-01_task-oddball_desc-eeg2fmri_metrics.tsv",
                          sep="\t", na_values="n/a")
    assert metrics["ssim_baseline"].notna().all()  # baseline fitted on sub-02
    group = pd.read_csv(out / "group_metrics.tsv", sep="\t", na_values="n/a")
    assert list(group["participant_id"]) == ["sub-01", "mean", "std"]
    code, errors = _errors_of(out)
    assert errors == []


def test_boutiques_descriptor_matches_the_parser():
    path = Path(__file__).parents[1] / "bids_app" / "eeg2fmri.boutiques.json"
    descriptor = json.loads(path.read_text())
    parser = build_parser()
    flags = {s for a in parser._actions for s in a.option_strings}
    dests = {a.dest for a in parser._actions}
    for item in descriptor["inputs"]:
        assert item["value-key"] in descriptor["command-line"]
        if "command-line-flag" in item:
            assert item["command-line-flag"] in flags, item["id"]
        assert item["id"] in dests, item["id"]
    # and every option of the parser is described
    described = {item["id"] for item in descriptor["inputs"]}
    assert dests - described == {"help", "version"}


def test_given_model_on_another_grid(app_run, tmp_path, capsys):
    """--model resamples the BOLD to the model grid (same field of view); a model
    whose EEG channels do not fit is refused with a one-line message."""
    from eeg2fmri.simulate import simulate_dataset

    model = next((app_run["work"] / "models").glob("*.safetensors"))
    bids = simulate_dataset(tmp_path / "b", preset="noddi", n_subjects=1,
                            n_volumes=24, n_channels=16, bold_shape=(6, 12, 10),
                            random_state=3)
    out = tmp_path / "out"
    common = ["-w", str(tmp_path / "w"), "--model", str(model),
              "--skip-bids-validation"]
    assert main([str(bids), str(out), "participant", *common]) == 0
    img = nib.load(out / "sub-01/func/sub-01_task-rest_desc-eeg2fmri_bold.nii.gz")
    src = nib.load(bids / "sub-01/func/sub-01_task-rest_bold.nii.gz")
    assert img.shape == (16, 16, 8, 24)  # the model's (D, H, W) = (8, 16, 16)
    extent = np.array(img.header.get_zooms()[:3]) * img.shape[:3]
    np.testing.assert_allclose(extent, np.array(src.header.get_zooms()[:3])
                               * src.shape[:3], rtol=1e-4)
    metrics = pd.read_csv(
        out / "sub-01/func/sub-01_task-rest_desc-eeg2fmri_metrics.tsv", sep="\t")
    # the baseline is the model's reference: its training participants' mean volume
    assert metrics["ssim_baseline"].notna().all()
    capsys.readouterr()
    # without --model, a single participant cannot be left out
    assert main([str(bids), str(tmp_path / "o1"), "participant", *common[:2],
                 "--skip-bids-validation", "--n-context", "4"]) == 18
    assert "at least one other participant" in capsys.readouterr().err

    bids8 = simulate_dataset(tmp_path / "b8", preset="noddi", n_subjects=1,
                             n_volumes=24, n_channels=8, bold_shape=(8, 16, 16),
                             random_state=3)
    assert main([str(bids8), str(tmp_path / "out8"), "participant", *common]) == 65
    err = capsys.readouterr().err
    lines = [x for x in err.splitlines() if x.startswith("eeg2fmri: error:")]
    assert len(lines) == 1 and "Traceback" not in err
    assert "would have to be interpolated" in lines[0] and "missing" in lines[0]


def test_default_model_is_chosen_and_explained(sim_bids, tmp_path, capsys):
    """No --model-name: spec2vol-bridge, the reason and a time estimate are logged."""
    argv = [str(sim_bids), str(tmp_path / "o"), "participant", "--participant-label",
            "01", "-w", str(tmp_path / "w"), "--epochs", "1", "--n-context", "4",
            "--omp-nthreads", "1", "--skip-bids-validation"]
    assert main(argv) == 0
    err = capsys.readouterr().err
    assert "Model: spec2vol-bridge (the default" in err and "on a CPU" in err
    assert "training time estimate:" in err
    meta = json.loads(next((tmp_path / "o").rglob("*_desc-eeg2fmri_bold.json"))
                      .read_text())
    assert meta["Model"]["Name"] == "spec2vol-bridge"


def test_linear_model_and_official_recipe(sim_bids, tmp_path):
    """--model-name ridge trains the band-power ridge; --recipe official the paper's
    features and targets; both write derivatives that --model can reuse."""
    common = ["--participant-label", "01", "--n-context", "4", "--omp-nthreads", "1",
              "--skip-bids-validation"]
    out = tmp_path / "ridge"
    assert main([str(sim_bids), str(out), "participant", "-w", str(tmp_path / "w1"),
                 "--model-name", "ridge", *common]) == 0
    stem = "sub-01/func/sub-01_task-rest_desc-eeg2fmri"
    meta = json.loads((out / f"{stem}_bold.json").read_text())
    assert meta["Model"]["Name"] == "ridge"
    model = tmp_path / "w1" / "models" / meta["Model"]["File"]
    assert json.loads(model.with_suffix(".json").read_text())["class"] == (
        "BandPowerRidge"
    )
    summary = json.loads((out / f"{stem}_metrics.json").read_text())["Summary"]
    assert np.isfinite(summary["temporal_r"])
    # a saved linear model is applied with --model
    again = tmp_path / "again"
    assert main([str(sim_bids), str(again), "participant", "-w", str(tmp_path / "w2"),
                 "--model", str(model), *common]) == 0
    np.testing.assert_allclose(
        nib.load(again / f"{stem}_bold.nii.gz").get_fdata(),
        nib.load(out / f"{stem}_bold.nii.gz").get_fdata(),
        rtol=1e-5,
    )

    official = tmp_path / "official"
    assert main([str(sim_bids), str(official), "participant", "-w",
                 str(tmp_path / "w3"), "--recipe", "official", *TINY[:4],
                 *common]) == 0
    meta = json.loads((official / f"{stem}_bold.json").read_text())
    features = meta["Preprocessing"]["FeatureParams"]
    assert features["normalization"] == "zscore_electrodes"
    assert features["log_magnitude"] is False
    assert "[0, 1]" in str(meta)  # per-volume units stated


@pytest.mark.slow
def test_demo_derivatives_have_no_absolute_path(tmp_path):
    """``python -m eeg2fmri.demo`` (tiny settings): no JSON under its derivatives/
    holds an absolute path or a path of this machine."""
    from eeg2fmri.demo import main as demo_main

    code = demo_main([str(tmp_path / "demo"), "--n-subjects", "2", "--n-volumes",
                      "24", "--epochs", "1"])
    assert code == 0
    out = tmp_path / "demo" / "derivatives"
    assert (out / "sub-01" / "func" / "sub-01_task-rest_desc-eeg2fmri_bold.json"
            ).is_file()
    assert _absolute_paths_in_json(out, tmp_path) == []
    meta = json.loads((out / "sub-01" / "func" /
                       "sub-01_task-rest_desc-eeg2fmri_bold.json").read_text())
    assert meta["Model"]["File"].endswith(".safetensors")
    assert meta["Sources"][0] == "bids:raw:sub-01/eeg/sub-01_task-rest_eeg.vhdr"
