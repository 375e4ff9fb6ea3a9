"""pybids, mne-bids and nilearn objects in and out, against the real libraries."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from eeg2fmri.bids import find_paired_runs, load_bold, load_eeg
from eeg2fmri.exceptions import NoMatchingDataError

_spec = importlib.util.spec_from_file_location(
    "bids_builders", Path(__file__).with_name("bids_builders.py")
)
bb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bb)


@pytest.fixture(scope="module")
def varied(tmp_path_factory):
    """Sessions, runs, acquisitions, two tasks, a subject without sessions, an EEG
    without BOLD; sidecars at the top (TR 2) and one run-level override (TR 1.5)."""
    root = tmp_path_factory.mktemp("varied") / "bids"
    bb.make_dataset(root, subjects=(), task="rest")
    for task in ("oddball",):
        bb.write_json(root / f"task-{task}_bold.json",
                      {"TaskName": task, "RepetitionTime": 2.0})
    (root / "participants.tsv").write_text("participant_id\nsub-01\nsub-02\nsub-03\n")
    bb.make_run(root, "01", ses="1", run="1", n_volumes=6)
    bb.make_run(root, "01", ses="1", run="2", n_volumes=6)
    bb.make_run(root, "01", ses="2", run="1", n_volumes=6)
    bb.make_run(root, "02", ses="1", acq="hi", run="1", n_volumes=6)
    bb.make_run(root, "02", ses="1", task="oddball", n_volumes=6)
    bb.make_run(root, "03", n_volumes=6)
    bb.make_run(root, "03", task="oddball", n_volumes=6, bold=False)
    bb.write_json(root / "sub-03/func/sub-03_task-rest_bold.json",
                  {"RepetitionTime": 1.5})
    return root


def _pairs(report):
    return [(r.eeg_path, r.bold_path) for r in report.runs]


def _select(source, **kwargs):
    """Paired (eeg, bold) paths and unpaired labels, or None when nothing pairs."""
    try:
        report = find_paired_runs(source, **kwargs)
    except NoMatchingDataError:
        return None
    return _pairs(report), sorted(u.label for u in report.unpaired)


# The filters of fMRIPrep-style --bids-filter-file JSON files: null = absent, lists =
# any of, "*" = present; keys per input kind.
FILTER_FILES = [
    "{}",
    '{"bold": {"session": "1"}}',
    '{"bold": {"session": null}, "eeg": {"session": null}}',
    '{"eeg": {"session": "*"}}',
    '{"bold": {"run": [2, null]}}',
    '{"bold": {"run": 1}, "eeg": {"run": "01"}}',
    '{"bold": {"acquisition": "hi"}, "eeg": {"acquisition": "hi"}}',
    '{"bold": {"acquisition": null}}',
    '{"bold": {"task": ["oddball"]}, "eeg": {"subject": ["02", "03"]}}',
    '{"bold": {"extension": "nii.gz", "datatype": "func", "suffix": "bold"}}',
    '{"eeg": {"extension": [".edf"]}}',
]


@pytest.mark.parametrize("text", FILTER_FILES)
def test_filter_semantics_match_pybids(varied, text):
    """Our scanner applies a filter file exactly as pybids' BIDSLayout.get does."""
    from bids import BIDSLayout

    filters = json.loads(text)
    layout = BIDSLayout(varied)
    ours = _select(varied, bids_filters=filters)
    theirs = _select(layout, bids_filters=filters)
    assert ours == theirs
    # and the files paired are among pybids' own answer to the same queries
    if ours is not None:
        for modality, suffix, ext in (("eeg", "eeg", [".vhdr"]),
                                      ("bold", "bold", [".nii.gz"])):
            user = {k: v for k, v in filters.get(modality, {}).items()
                    if k not in ("suffix", "datatype", "extension")}
            query = {"suffix": suffix, "extension": ext, **_pybids(user)}
            got = {Path(f.path) for f in layout.get(scope="raw", **query)}
            idx = 0 if modality == "eeg" else 1
            assert {p[idx] for p in ours[0]} <= got


def _pybids(query):
    from eeg2fmri.bids.filters import _normalize_filters
    from eeg2fmri.bids.interop import pybids_query

    return pybids_query(_normalize_filters({"bold": query})["bold"])


@pytest.mark.parametrize("text", [
    '{"bold": {"session": null}, "eeg": {"session": null}}',
    '{"eeg": {"session": "*"}, "bold": {"run": [1, null]}}',
])
def test_bids_filter_file_of_the_app_matches_pybids(varied, tmp_path, text):
    """--bids-filter-file: the App selects what pybids selects with that JSON."""
    from bids import BIDSLayout

    from bids_app.parser import build_parser
    from bids_app.run import config_from_args
    from bids_app.workflow import select_runs

    path = tmp_path / "filter.json"
    path.write_text(text)
    argv = [str(varied), str(tmp_path / "out"), "participant",
            "--bids-filter-file", str(path)]
    config = config_from_args(build_parser().parse_args(argv), argv)
    selection = select_runs(config)
    report, participants = selection.report, selection.participants
    expected = find_paired_runs(BIDSLayout(varied), bids_filters=json.loads(text))
    assert _pairs(report) == _pairs(expected) != []
    assert participants == expected.participants


def test_filters_select_what_they_should(varied):
    """Known answers (not only agreement): null, lists, '*'."""
    runs = find_paired_runs(varied, bids_filters={"bold": {"session": None}}).runs
    assert [r.label for r in runs] == ["sub-03_task-rest"]
    runs = find_paired_runs(varied, bids_filters={"eeg": {"session": "*"}}).runs
    assert {r.subject for r in runs} == {"01", "02"} and len(runs) == 5
    runs = find_paired_runs(varied, bids_filters={"bold": {"run": [2, None]}}).runs
    assert [r.label for r in runs] == [
        "sub-01_ses-1_task-rest_run-2", "sub-02_ses-1_task-oddball",
        "sub-03_task-rest"]


def test_bad_filters_are_one_line_errors(varied):
    with pytest.raises(ValueError, match=r"bids_filters\['bold'\]\['suffix'\]: 'T1w' "
                       "selects no BOLD file"):
        find_paired_runs(varied, bids_filters={"bold": {"suffix": "T1w"}})
    with pytest.raises(TypeError, match=r"bids_filters\['eeg'\]\['run'\]: expected a "
                       "label, a list, null or '\\*', got dict"):
        find_paired_runs(varied, bids_filters={"eeg": {"run": {"x": 1}}})
    with pytest.raises(TypeError, match="bids_dir must be a path, a pybids BIDSLayout "
                       "or an mne-bids BIDSPath, got int"):
        find_paired_runs(3)


def test_metadata_inheritance_matches_pybids(varied):
    from bids import BIDSLayout

    layout = BIDSLayout(varied)
    for run in find_paired_runs(layout).runs:
        assert run.tr == layout.get_metadata(str(run.bold_path))["RepetitionTime"]
    trs = {r.label: r.tr for r in find_paired_runs(varied).runs}
    assert trs["sub-03_task-rest"] == 1.5 and trs["sub-01_ses-1_task-rest_run-1"] == 2.0


def test_layout_and_bids_path_select_like_keywords(varied):
    """A BIDSLayout or a BIDSPath gives the runs of the equivalent keyword arguments."""
    from bids import BIDSLayout
    from mne_bids import BIDSPath

    layout = BIDSLayout(varied)
    cases = [
        (dict(participant_label="01", session_label="1"),
         BIDSPath(root=varied, subject="01", session="1")),
        (dict(participant_label="02", task="oddball"),
         BIDSPath(root=varied, subject="02", task="oddball")),
        (dict(bids_filters={"eeg": {"run": "2"}, "bold": {"run": "2"}}),
         BIDSPath(root=varied, run=2)),
        (dict(participant_label="02",
              bids_filters={"eeg": {"acq": "hi"}, "bold": {"acq": "hi"}}),
         BIDSPath(root=varied, subject="02", acquisition="hi")),
        (dict(bids_filters={"eeg": {"extension": ".vhdr"}}),
         BIDSPath(root=varied, datatype="eeg", extension=".vhdr")),
    ]
    for kwargs, bids_path in cases:
        expected = _pairs(find_paired_runs(varied, **kwargs))
        assert expected  # every case selects something
        assert _pairs(find_paired_runs(layout, **kwargs)) == expected
        assert _pairs(find_paired_runs(bids_path)) == expected
    # the keyword arguments still apply on top of a BIDSPath, and conflicts are errors
    runs = find_paired_runs(BIDSPath(root=varied, session="1"), participant_label="02")
    assert {r.subject for r in runs.runs} == {"02"}
    with pytest.raises(ValueError, match="participant_label='02' conflicts with the "
                       "BIDSPath's value '01'"):
        find_paired_runs(BIDSPath(root=varied, subject="01"), participant_label="02")
    with pytest.raises(ValueError, match="BIDSPath has no root"):
        find_paired_runs(BIDSPath(subject="01"))


def test_build_dataset_accepts_layout_and_bids_path(sim_bids):
    from bids import BIDSLayout
    from mne_bids import BIDSPath

    from eeg2fmri.features import FeatureParams, build_dataset

    params = FeatureParams(n_context=4)
    ref = build_dataset(sim_bids, params, participant_label="02")
    for source, kwargs in ((BIDSLayout(sim_bids), {"participant_label": "02"}),
                           (BIDSPath(root=sim_bids, subject="02"), {})):
        ds = build_dataset(source, params, **kwargs)
        assert ds.provenance.equals(ref.provenance)
        np.testing.assert_array_equal(np.asarray(ds.X[:5]), np.asarray(ref.X[:5]))


def test_files_as_bids_path_and_bids_file(sim_bids):
    from bids import BIDSLayout

    run = find_paired_runs(sim_bids, participant_label="01").runs[0]
    bp = run.eeg_bids_path
    assert (bp.subject, bp.task, bp.datatype, bp.suffix, bp.extension) == (
        "01", "rest", "eeg", "eeg", ".vhdr")
    assert Path(bp.root).resolve() == Path(sim_bids).resolve()
    raw_a, raw_b = load_eeg(run.eeg_path), load_eeg(bp)
    np.testing.assert_array_equal(raw_a.get_data(), raw_b.get_data())
    bold_file = BIDSLayout(sim_bids).get(subject="01", suffix="bold",
                                         extension=".nii.gz")[0]
    assert load_bold(bold_file).shape == load_bold(run.bold_bids_path).shape
    with pytest.raises(TypeError, match="path must be a path, an mne-bids BIDSPath or "
                       "a pybids BIDSFile, got int"):
        load_eeg(1)


def test_simulated_eeg_read_by_mne_bids(sim_bids, tmp_path):
    """read_raw_bids reads the simulator's EEG: channel types, rate and markers."""
    from mne_bids import read_raw_bids

    run = find_paired_runs(sim_bids, participant_label="01").runs[0]
    ours = load_eeg(run.eeg_path, picks="all")
    theirs = read_raw_bids(run.eeg_bids_path, verbose="error")
    assert theirs.ch_names == ours.ch_names
    assert theirs.get_channel_types() == ours.get_channel_types()
    assert set(theirs.get_channel_types()) == {"eeg", "ecg"}
    assert theirs.info["sfreq"] == run.eeg_metadata["SamplingFrequency"]
    np.testing.assert_allclose(theirs.get_data(), ours.get_data(), atol=1e-9)
    # no events.tsv in this resting dataset: the .vmrk markers are the events
    assert list(theirs.annotations.description) == list(ours.annotations.description)
    np.testing.assert_allclose(theirs.annotations.onset, ours.annotations.onset)
    starts = [d for d in theirs.annotations.description if d.endswith("Scan Start")]
    assert len(starts) == 40  # one per volume


def test_simulated_task_events_read_by_mne_bids(tmp_path):
    """With an events.tsv (task data), read_raw_bids returns its rows: task events and
    the volume triggers, at the samples the simulator wrote."""
    import pandas as pd
    from mne_bids import read_raw_bids

    from eeg2fmri.simulate import simulate_dataset

    root = simulate_dataset(tmp_path / "odd", preset="oddball", n_subjects=1,
                            n_volumes=12, n_channels=4, sfreq=250.0,
                            bold_shape=(4, 6, 6), random_state=0)
    run = find_paired_runs(root).runs[0]
    raw = read_raw_bids(run.eeg_bids_path, verbose="error")
    events = pd.read_csv(run.eeg_path.with_name(
        run.eeg_path.name.replace("_eeg.vhdr", "_events.tsv")), sep="\t")
    assert raw.info["sfreq"] == 250.0
    assert list(raw.annotations.description) == list(events["trial_type"])
    np.testing.assert_allclose(raw.annotations.onset, events["onset"], atol=1e-6)
    assert sum(d.endswith("R128") for d in raw.annotations.description) == 12
    assert len(set(raw.annotations.description)) >= 3  # triggers + 2 conditions


def test_input_dataset_is_not_modified_by_layout_queries(sim_bids, tmp_path):
    from bids import BIDSLayout

    copy = shutil.copytree(sim_bids, tmp_path / "copy")
    before = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*"))
    find_paired_runs(BIDSLayout(copy))
    after = sorted(p.relative_to(copy).as_posix() for p in copy.rglob("*"))
    assert before == after


# ------------------------------------------------------------------ nilearn output
@pytest.fixture(scope="module")
def ridge_model(sim_bids):
    """A band-power ridge trained on sub-02 and sub-03, with its feature params."""
    from eeg2fmri import BandPowerRidge
    from eeg2fmri.features import FeatureParams, build_dataset

    params = FeatureParams(n_context=4)
    ds = build_dataset(sim_bids, params)
    train = ds.subset(ds.groups != "01")
    est = BandPowerRidge(frequencies=ds.frequencies).fit(
        train.X, train.y, groups=train.groups,
        runs=train.provenance["run_label"].to_numpy())
    est.feature_params_ = params
    return est, ds


def test_synthesize_image_is_the_bids_app_run(sim_bids, ridge_model):
    """Same volumes, grid, TR and frames as predicting the dataset's pairs."""
    import nibabel as nib

    from eeg2fmri import synthesize_image
    from eeg2fmri.bids import volumes_to_nifti

    est, ds = ridge_model
    run = find_paired_runs(sim_bids, participant_label="01").runs[0]
    img, idx, info = synthesize_image(est, run, return_volume_indices=True,
                                      return_run=True)
    sel = np.flatnonzero(ds.provenance["run_label"].to_numpy() == run.label)
    pairs = ds.provenance["volume_index"].to_numpy()[sel]
    assert pairs.tolist() == list(range(10, 40))
    # whole runs: every volume; the first n_context = 4 have an incomplete context
    assert idx.tolist() == list(range(40))
    assert info.context_complete.tolist() == [False] * 4 + [True] * 36
    assert info.timing == "markers"
    # the frames of the training pairs are exactly the pairs' predictions
    expected = volumes_to_nifti(est.predict(ds.X[sel]))
    np.testing.assert_allclose(np.asarray(img.dataobj)[..., pairs], expected,
                               rtol=1e-6)
    src = nib.load(run.bold_path)
    assert isinstance(img, nib.Nifti1Image)
    assert img.shape == (*src.shape[:3], 40)
    np.testing.assert_allclose(img.affine, src.affine)
    assert img.header.get_zooms()[3] == pytest.approx(run.tr) == pytest.approx(2.16)
    assert img.header.get_xyzt_units() == ("mm", "sec")
    assert b"BOLD units" in img.header["descrip"].tobytes()
    # the same from the EEG file and a reference image (a BIDSPath, an mne Raw)
    again = synthesize_image(est, run.eeg_bids_path, reference=nib.load(run.bold_path))
    np.testing.assert_allclose(np.asarray(again.dataobj), np.asarray(img.dataobj),
                               rtol=1e-6)
    raw = load_eeg(run.eeg_path)
    again = synthesize_image(est, raw, reference=run.bold_path)
    np.testing.assert_allclose(np.asarray(again.dataobj), np.asarray(img.dataobj),
                               rtol=1e-6)


def test_synthesize_image_with_a_saved_model(sim_bids, ridge_model, tmp_path):
    """A model file carries its feature parameters: load_model -> image, same values;
    a grid given by an affine and a TR instead of a reference image."""
    from eeg2fmri import load_model, synthesize_image

    est, _ = ridge_model
    run = find_paired_runs(sim_bids, participant_label="01").runs[0]
    est.save(tmp_path / "ridge.safetensors")
    loaded = load_model(tmp_path / "ridge.safetensors")
    img = synthesize_image(loaded, run)
    ref = synthesize_image(est, run)
    np.testing.assert_allclose(np.asarray(img.dataobj), np.asarray(ref.dataobj),
                               rtol=1e-5, atol=1e-4)
    grid = synthesize_image(loaded, run.eeg_path, affine=ref.affine, tr=run.tr)
    assert grid.shape == ref.shape
    np.testing.assert_allclose(grid.affine, ref.affine)


def test_synthesize_image_errors(sim_bids, ridge_model):
    from eeg2fmri import BandPowerRidge, MeanVolumeRegressor, synthesize_image

    est, ds = ridge_model
    run = find_paired_runs(sim_bids, participant_label="01").runs[0]
    # fitted on plain arrays: no channel names, no grid
    bare = BandPowerRidge(frequencies=ds.frequencies).fit(
        np.asarray(ds.X), np.asarray(ds.y), groups=ds.groups)
    bare.feature_params_ = est.feature_params_
    assert bare.eeg_spec_ is None and bare.output_space_ is None
    with pytest.raises(ValueError, match="reference: no output grid"):
        synthesize_image(bare, run.eeg_path, tr=2.16)
    with pytest.raises(ValueError, match="params: the estimator carries no feature"):
        plain = MeanVolumeRegressor().fit(np.ones((4, 2, 3, 5)),
                                          np.random.default_rng(0).random((4, 2, 3, 3)))
        synthesize_image(plain, run)
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        synthesize_image(BandPowerRidge(), run)


def test_synthesized_image_in_nilearn(sim_bids, ridge_model):
    """NiftiMasker, plot_carpet and FirstLevelModel take the image unchanged."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd
    from nilearn.glm.first_level import FirstLevelModel
    from nilearn.maskers import NiftiMasker
    from nilearn.plotting import plot_carpet

    from eeg2fmri import synthesize_image

    est, _ = ridge_model
    run = find_paired_runs(sim_bids, participant_label="01").runs[0]
    img = synthesize_image(est, run)
    n = img.shape[3]

    masker = NiftiMasker(standardize=None)
    series = masker.fit_transform(img)
    assert series.shape == (n, int(np.asarray(masker.mask_img_.dataobj).sum()))
    assert np.isfinite(series).all() and series.std(axis=0).max() > 0
    back = masker.inverse_transform(series)
    assert back.shape == img.shape

    display = plot_carpet(img)  # TR read from the header
    assert display is not None
    plt.close("all")

    tr = img.header.get_zooms()[3]
    # a block design in the image's own time frame
    events = pd.DataFrame({"onset": [0.0, 8 * tr, 16 * tr], "duration": [4 * tr] * 3,
                           "trial_type": ["block"] * 3})
    glm = FirstLevelModel(t_r=float(tr), minimize_memory=False).fit(img,
                                                                   events=events)
    z = glm.compute_contrast("block", output_type="z_score")
    assert z.shape == img.shape[:3]
    np.testing.assert_allclose(z.affine, img.affine)
    assert np.isfinite(np.asarray(z.dataobj)).any()
    assert glm.design_matrices_[0].shape[0] == n


def test_synthesize_image_on_the_model_grid(sim_bids):
    """A model trained on resampled BOLD: the image is on its grid over the same field
    of view, with the affine build_dataset gave the resampled volumes."""
    from eeg2fmri import BandPowerRidge, synthesize_image
    from eeg2fmri.features import FeatureParams, build_dataset

    params = FeatureParams(n_context=4)
    ds = build_dataset(sim_bids, params, participant_label=["02", "03"],
                       target_shape=(4, 8, 8))
    est = BandPowerRidge(frequencies=ds.frequencies).fit(
        ds.X, ds.y, groups=ds.groups, runs=ds.provenance["run_label"].to_numpy())
    est.feature_params_ = params
    run = find_paired_runs(sim_bids, participant_label="01").runs[0]
    img = synthesize_image(est, run)
    assert img.shape == (8, 8, 4, 40)
    np.testing.assert_allclose(img.affine, ds.runs[0].affine, atol=1e-6)
