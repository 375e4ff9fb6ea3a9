"""Discovery of paired EEG/BOLD runs (eeg2fmri.bids.discovery) on hand-built
datasets."""

import dataclasses
import importlib.util
import json
import logging
from pathlib import Path

import pytest

from eeg2fmri.bids import PairedRun, find_paired_runs
from eeg2fmri.exceptions import (
    DataError,
    InvalidDatasetError,
    MissingInputError,
    NoMatchingDataError,
)

_spec = importlib.util.spec_from_file_location(
    "bids_builders", Path(__file__).with_name("bids_builders.py")
)
bb = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bb)


@pytest.fixture
def ds(tmp_path):
    return bb.make_dataset(tmp_path / "ds", subjects=("01", "02"))


def test_pairs_runs_and_inherits_top_level_tr(ds):
    report = find_paired_runs(ds)
    assert [r.label for r in report.runs] == ["sub-01_task-rest", "sub-02_task-rest"]
    assert report.participants == ["01", "02"]
    assert report.unpaired == []
    run = report.runs[0]
    assert isinstance(run, PairedRun)
    assert run.eeg_path.name == "sub-01_task-rest_eeg.vhdr"
    assert run.bold_path.name == "sub-01_task-rest_bold.nii.gz"
    assert run.tr == 2.0
    assert run.bold_metadata["SliceTiming"] == [0.0, 0.5, 1.0, 1.5]
    assert list(run.slice_timing) == [0.0, 0.5, 1.0, 1.5]
    assert run.entities == {"subject": "01", "task": "rest"}


def test_more_specific_sidecar_wins(ds):
    bb.write_json(
        ds / "sub-02" / "func" / "sub-02_task-rest_bold.json", {"RepetitionTime": 1.5}
    )
    # a sidecar for another task must not apply
    bb.write_json(ds / "task-other_bold.json", {"RepetitionTime": 9.0})
    runs = find_paired_runs(ds).runs
    assert [r.tr for r in runs] == [2.0, 1.5]
    assert runs[1].bold_metadata["SliceTiming"] == [
        0.0,
        0.5,
        1.0,
        1.5,
    ]  # still inherited


def test_participant_labels_with_or_without_prefix(ds):
    assert find_paired_runs(ds, participant_label="sub-02").participants == ["02"]
    assert find_paired_runs(ds, participant_label=["01"]).participants == ["01"]


def test_unknown_participant_lists_what_exists(ds):
    with pytest.raises(
        NoMatchingDataError, match=r"001.*did you mean '01'.*available: 01, 02"
    ):
        find_paired_runs(ds, participant_label=["02", "sub-001"])
    with pytest.raises(
        NoMatchingDataError, match=r"participant\(s\) 99 not found.*available: 01, 02"
    ):
        find_paired_runs(ds, participant_label="99")


def test_unknown_task_and_bad_filters(ds):
    with pytest.raises(NoMatchingDataError, match="rset.*did you mean 'rest'"):
        find_paired_runs(ds, task="rset")
    with pytest.raises(
        ValueError, match="unknown entity 'spcae'.*did you mean 'space'"
    ):
        find_paired_runs(ds, bids_filters={"bold": {"spcae": "MNI"}})
    with pytest.raises(ValueError, match="expected 'eeg' and/or 'bold'"):
        find_paired_runs(ds, bids_filters={"t1w": {}})


def test_not_a_dataset(tmp_path):
    with pytest.raises(MissingInputError, match="does not exist"):
        find_paired_runs(tmp_path / "nope")
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InvalidDatasetError, match="not a folder"):
        find_paired_runs(tmp_path / "file.txt")
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        InvalidDatasetError, match="dataset_description.json is missing"
    ):
        find_paired_runs(tmp_path / "empty")


def test_unpaired_runs_reported_not_fatal(ds):
    bb.make_run(ds, "01", "rest", run="2", bold=False)  # EEG only
    bb.make_run(ds, "02", "rest", run="3", eeg=False)  # BOLD only
    report = find_paired_runs(ds)
    assert len(report.runs) == 2
    unpaired = {(u.label, u.modality) for u in report.unpaired}
    assert unpaired == {
        ("sub-01_task-rest_run-2", "eeg"),
        ("sub-02_task-rest_run-3", "bold"),
    }
    assert all("no " in u.reason for u in report.unpaired)
    assert "unpaired" in report.summary()


def test_no_pair_at_all_raises_with_report(tmp_path):
    root = bb.make_dataset(tmp_path / "ds", subjects=("01",), bold=False)
    with pytest.raises(
        NoMatchingDataError, match="sub-01_task-rest: no BOLD run"
    ) as info:
        find_paired_runs(root)
    assert len(info.value.report.unpaired) == 1


def test_sessions_runs_and_index_normalisation(tmp_path):
    root = bb.make_dataset(tmp_path / "ds", subjects=())
    bb.make_run(root, "01", "rest", ses="pre", run="1")
    bb.make_run(root, "01", "rest", ses="post", run="1")
    bb.make_run(root, "01", "rest", ses="post", run="2")
    # run-02 in the BOLD name pairs with run-2 in the EEG name
    vhdr, _ = bb.make_run(root, "01", "rest", ses="post", run="3", bold=False)
    bb.make_run(root, "01", "rest", ses="post", run="03", eeg=False)
    report = find_paired_runs(root)
    assert [r.label for r in report.runs] == [
        "sub-01_ses-post_task-rest_run-1",
        "sub-01_ses-post_task-rest_run-2",
        "sub-01_ses-post_task-rest_run-03",
        "sub-01_ses-pre_task-rest_run-1",
    ]
    assert report.runs[2].eeg_path == vhdr.resolve()
    assert [
        r.session for r in find_paired_runs(root, session_label="ses-pre").runs
    ] == ["pre"]
    with pytest.raises(NoMatchingDataError, match="session"):
        find_paired_runs(root, session_label="mid")


def test_acquisition_must_match(tmp_path):
    root = bb.make_dataset(tmp_path / "ds", subjects=())
    bb.make_run(root, "01", "rest", acq="mb", eeg=False)
    bb.make_run(root, "01", "rest", bold=False)
    with pytest.raises(NoMatchingDataError):
        find_paired_runs(root)


def test_junk_files_and_folders_ignored(ds):
    func = ds / "sub-01" / "func"
    (func / "._sub-01_task-rest_bold.json").write_bytes(
        b"\x00\x05\x16\x07 mac resource fork"
    )
    (func / "._sub-01_task-rest_bold.nii.gz").write_bytes(b"\x00junk")
    (ds / "sub-01" / "eeg" / "._sub-01_task-rest_eeg.vhdr").write_bytes(b"\x00junk")
    (ds / "._task-rest_bold.json").write_bytes(b"\x00junk")
    for folder in ("derivatives", "sourcedata", "code"):
        bb.make_run(ds / folder, "01", "rest", run="9")
    (ds / "sub-01" / ".git").mkdir()
    bb.make_run(ds / "sub-01" / ".git", "01", "rest", run="8")
    report = find_paired_runs(ds)
    assert [r.label for r in report.runs] == ["sub-01_task-rest", "sub-02_task-rest"]
    assert report.unpaired == []
    assert report.runs[0].tr == 2.0


def test_participants_tsv_without_folder_is_a_warning(ds, caplog):
    (ds / "participants.tsv").write_text(
        "participant_id age\nsub-01  30\nsub-02 31\nsub-07 40\n"
    )
    with caplog.at_level(logging.WARNING, logger="eeg2fmri"):
        report = find_paired_runs(ds)
    assert report.participants == ["01", "02"]
    assert "sub-07" in caplog.text and "without a folder" in caplog.text


def test_missing_tr_everywhere_is_a_data_error(tmp_path):
    root = bb.make_dataset(tmp_path / "ds", subjects=("01",), top_level_tr=False)
    nii = root / "sub-01" / "func" / "sub-01_task-rest_bold.nii.gz"
    bb.write_bold(nii, tr=0.0)
    run = find_paired_runs(root).runs[0]
    with pytest.raises(
        DataError, match="no RepetitionTime for .*sub-01_task-rest_bold.nii.gz"
    ):
        _ = run.tr


def test_tr_from_header_when_no_sidecar(tmp_path, caplog):
    root = bb.make_dataset(tmp_path / "ds", subjects=("01",), top_level_tr=False)
    bb.write_bold(
        root / "sub-01" / "func" / "sub-01_task-rest_bold.nii.gz",
        tr=1500.0,
        units="msec",
    )
    assert find_paired_runs(root).runs[0].tr == 1.5


def test_bad_sidecar_json_names_the_file(ds):
    (ds / "sub-01" / "func" / "sub-01_task-rest_bold.json").write_text("{not json")
    with pytest.raises(DataError, match="sub-01_task-rest_bold.json is not valid JSON"):
        find_paired_runs(ds, participant_label="01")


def test_eeg_from_derivatives_without_description(tmp_path):
    """bids-examples eeg_rest_fmri layout: corrected EEG in derivatives/ (no
    description)."""
    root = bb.make_dataset(tmp_path / "ds", subjects=("32", "35"), eeg=True)
    deriv = root / "derivatives" / "eeg_pp"
    bb.make_run(root, "32", "rest", bold=False, eeg_root=deriv, sfreq=250.0)
    bb.write_json(deriv / "task-rest_eeg.json", {"SamplingFrequency": 250})
    report = find_paired_runs(
        root, eeg_derivatives="eeg_pp"
    )  # resolved under derivatives/
    assert [r.label for r in report.runs] == ["sub-32_task-rest"]
    run = report.runs[0]
    assert deriv.resolve() in run.eeg_path.parents
    assert (root / "sub-32" / "func").resolve() == run.bold_path.parent
    assert run.eeg_metadata == {"SamplingFrequency": 250}
    assert [u.label for u in report.unpaired] == ["sub-35_task-rest"]
    with pytest.raises(MissingInputError, match="eeg_derivatives"):
        find_paired_runs(root, eeg_derivatives=tmp_path / "absent")


def test_bold_from_fmriprep_like_derivatives_with_filters(tmp_path):
    root = bb.make_dataset(tmp_path / "ds", subjects=("01",))
    prep = tmp_path / "fmriprep"
    bb.write_json(
        prep / "dataset_description.json",
        {"Name": "fMRIPrep", "DatasetType": "derivative"},
    )
    func = prep / "sub-01" / "func"
    for space in ("MNI152NLin2009cAsym", "T1w"):
        name = f"sub-01_task-rest_space-{space}_desc-preproc_bold"
        bb.write_bold(func / f"{name}.nii.gz", tr=2.0)
        bb.write_json(
            func / f"{name}.json", {"RepetitionTime": 2.0, "SkullStripped": False}
        )
    bb.write_bold(
        func / "sub-01_task-rest_space-T1w_desc-brain_mask.nii.gz", n_volumes=1
    )
    # two spaces and no filter: ambiguous, reported, nothing paired
    with pytest.raises(NoMatchingDataError, match="2 BOLD files fit"):
        find_paired_runs(root, bold_derivatives=prep)
    report = find_paired_runs(
        root,
        bold_derivatives=prep,
        bids_filters={"bold": {"space": "T1w", "desc": "preproc"}},
    )
    (run,) = report.runs
    assert run.bold_path.name == "sub-01_task-rest_space-T1w_desc-preproc_bold.nii.gz"
    assert run.bold_metadata["SkullStripped"] is False
    assert run.eeg_path.parent == (root / "sub-01" / "eeg").resolve()


def test_simulated_dataset(sim_bids):
    """Discovery on the session's simulated noddi-like dataset (3 subjects)."""
    report = find_paired_runs(sim_bids)
    assert report.participants == ["01", "02", "03"]
    assert report.unpaired == []
    desc = json.loads((sim_bids / "task-rest_bold.json").read_text())
    assert all(r.tr == pytest.approx(desc["RepetitionTime"]) for r in report.runs)
    assert all(r.eeg_path.suffix == ".vhdr" for r in report.runs)


def test_eeg_rest_fmri_layout_derivatives_folder_itself(tmp_path):
    """bids-examples eeg_rest_fmri: derivatives/sub-32/eeg/ holds .vhdr + .dat."""
    root = bb.make_dataset(tmp_path / "ds", subjects=("32",))
    vhdr, _ = bb.make_run(root, "32", "rest", bold=False, eeg_root=root / "derivatives")
    # BrainVision Analyzer exports name the binary file .dat
    vhdr.with_suffix(".eeg").rename(vhdr.with_suffix(".dat"))
    text = vhdr.read_text(encoding="utf-8").replace("_eeg.eeg", "_eeg.dat")
    vhdr.write_text(text, encoding="utf-8")
    (run,) = find_paired_runs(root, eeg_derivatives="derivatives").runs
    assert run.eeg_path == vhdr.resolve()
    from eeg2fmri.bids import find_volume_onsets, load_eeg

    raw = load_eeg(run.eeg_path)
    assert len(find_volume_onsets(raw, tr=run.tr, n_volumes=10)) == 10


def test_run_classes_share_the_entity_fields_and_stay_importable_from_discovery(ds):
    from eeg2fmri.bids import discovery, runs

    assert discovery.PairedRun is runs.PairedRun
    assert set(runs.__all__) <= set(discovery.__all__)
    report = find_paired_runs(ds)
    paired = report.runs[0]
    fields = [f.name for f in dataclasses.fields(paired)]
    assert fields[:5] == ["subject", "session", "task", "acquisition", "run"]
    assert fields[5:] == ["eeg_path", "bold_path", "bold_metadata", "eeg_metadata"]
    eeg = runs.EEGRun(**runs.run_fields({"sub": "01", "task": "rest", "run": "2"}),
                      eeg_path=paired.eeg_path)
    assert eeg.label == "sub-01_task-rest_run-2"
    assert eeg.entities == {"subject": "01", "task": "rest", "run": "2"}
    assert eeg != paired and eeg.subject == paired.subject


def test_select_runs_forwards_the_discovery_options(tmp_path):
    from eeg2fmri.pipeline import select_runs

    root = bb.make_dataset(tmp_path / "ds", subjects=("01", "02"))
    for sub in ("01", "02"):
        bb.make_run(root, sub, "nback")
    selection = select_runs(root, participant_label=["01"], task="nback")
    assert selection.participants == ["01"]
    # the other participants' runs stay in the training pool, with the task selection
    assert sorted(r.label for r in selection.paired) == [
        "sub-01_task-nback", "sub-02_task-nback"]
    with pytest.raises(TypeError, match="allow_eeg_only is set by with_model"):
        select_runs(root, allow_eeg_only=True)
    with pytest.raises(TypeError, match="tsk"):
        select_runs(root, tsk="rest")
