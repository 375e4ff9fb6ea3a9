"""Write simulated runs as a BIDS dataset (raw + ``derivatives/simulation``).

The BrainVision triplet is written with :func:`pybv.write_brainvision`; its ``.vmrk``
is then replaced by one that carries vendor-style markers (``Scanner,Scan Start``,
``Scanner,s``, ``Pulse Artifact,R``, ``Response,R128``, ``Stimulus,S  1``), which pybv
cannot write itself. Sidecars are written directly (no mne-bids), so the file markers
and the sidecars say exactly what the simulator did.
"""

import json

import numpy as np

from .._version import __version__

__all__ = ["write_run", "write_top_level", "run_basename"]

CODE_URL = "https://github.com/eeg2fmri/eeg2fmri"
DERIV_NAME = "simulation"


def _json(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def _tsv(path, df):
    path.parent.mkdir(parents=True, exist_ok=True)
    df.to_csv(path, sep="\t", index=False, na_rep="n/a", lineterminator="\n")


def run_basename(subject, task, run=None):
    """BIDS basename prefix, e.g. ``sub-01_task-rest_run-1`` (run only when given)."""
    name = f"sub-{subject}_task-{task}"
    return f"{name}_run-{run}" if run is not None else name


def _bold_image(vols, affine, tr, dtype):
    """NIfTI image from (T, D, H, W) volumes with TR in seconds and mm units."""
    import nibabel as nib

    data = vols.transpose(2, 3, 1, 0)  # vols[t, k, i, j] -> nifti[i, j, k, t]
    img = nib.Nifti1Image(data, affine)
    img.header.set_xyzt_units("mm", "sec")
    zooms = np.sqrt((affine[:3, :3] ** 2).sum(0))
    img.header.set_zooms((*zooms, float(tr)))
    img.header.set_data_dtype(dtype)
    img.header.set_qform(affine, code=4)  # MNI152
    img.header.set_sform(affine, code=4)
    return img


def _write_vmrk(path, data_file, markers):
    lines = [
        "Brain Vision Data Exchange Marker File, Version 1.0",
        "",
        "[Common Infos]",
        "Codepage=UTF-8",
        f"DataFile={data_file}",
        "",
        "[Marker Infos]",
        "; Each entry: Mk<Marker number>=<Type>,<Description>,"
        "<Position in data points>,",
        "; <Size in data points>, "
        "<Channel number (0 = marker is related to all channels)>",
        "; Fields are delimited by commas, some fields might be omitted (empty).",
        '; Commas in type or description text are coded as "\\1".',
        "Mk1=New Segment,,1,1,0",
    ]
    lines += [
        f"Mk{i}={kind},{desc},{sample + 1},1,0"
        for i, (kind, desc, sample) in enumerate(markers, start=2)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_run(root, run, *, subject, task, run_label, affine, tr):
    """Write one run's raw files and its ``derivatives/simulation`` truth.

    Parameters
    ----------
    root : Path
        Dataset root (raw).
    run : SimulatedRun
    subject : str
        Label without ``sub-``.
    task : str
    run_label : int or None
        Run index written as ``run-<n>``; None when the dataset has one run.
    affine : ndarray of shape (4, 4)
    tr : float

    Returns
    -------
    paths : dict
        ``{"eeg": .vhdr path, "bold": .nii.gz path}``.
    """
    import pandas as pd
    import pybv

    base = run_basename(subject, task, run_label)
    eeg_dir = root / f"sub-{subject}" / "eeg"
    func_dir = root / f"sub-{subject}" / "func"
    eeg_dir.mkdir(parents=True, exist_ok=True)
    func_dir.mkdir(parents=True, exist_ok=True)

    # EEG: pybv writes .vhdr/.eeg (data in volts -> µV float32), we write the .vmrk
    pybv.write_brainvision(
        data=run.eeg * np.float32(1e-6),
        sfreq=run.sfreq,
        ch_names=run.ch_names,
        fname_base=f"{base}_eeg",
        folder_out=str(eeg_dir),
        overwrite=True,
        events=None,
        resolution=0.1,
        unit="µV",
        fmt="binary_float32",
    )
    _write_vmrk(eeg_dir / f"{base}_eeg.vmrk", f"{base}_eeg.eeg", run.markers)
    _json(
        eeg_dir / f"{base}_eeg.json",
        {"RecordingDuration": round(run.eeg.shape[1] / run.sfreq, 6)},
    )
    _tsv(
        eeg_dir / f"{base}_channels.tsv",
        pd.DataFrame(
            {
                "name": run.ch_names,
                "type": run.ch_types,
                "units": "µV",
                "sampling_frequency": run.sfreq,
                "status": "good",
            }
        ),
    )
    if run.events is not None:
        trig_type, _, trig_desc = run.truth["trigger"].partition("/")
        samples = np.asarray(run.truth["volume_onset_samples"])
        triggers = pd.DataFrame(
            {
                "onset": np.round(samples / run.sfreq, 6),
                "duration": 0.0,
                "trial_type": run.truth["trigger"],
                "value": "n/a",
                "sample": samples,
            }
        )
        eeg_events = pd.concat([run.events.astype({"value": object}), triggers])
        eeg_events = eeg_events.sort_values(["sample", "trial_type"], kind="stable")
        _tsv(eeg_dir / f"{base}_events.tsv", eeg_events)
        func_events = run.events[["onset", "duration", "trial_type"]].copy()
        func_events["onset"] = np.round(func_events["onset"] - run.volume_onsets[0], 6)
        _tsv(func_dir / f"{base}_events.tsv", func_events)

    bold_path = func_dir / f"{base}_bold.nii.gz"
    _bold_image(run.bold, affine, tr, np.int16).to_filename(bold_path)

    # derivatives/simulation: noise-free BOLD, drives, truth, network maps
    deriv = root / "derivatives" / DERIV_NAME / f"sub-{subject}" / "func"
    deriv.mkdir(parents=True, exist_ok=True)
    _bold_image(run.noiseless, affine, tr, np.int16).to_filename(
        deriv / f"{base}_desc-noiseless_bold.nii.gz"
    )
    _json(
        deriv / f"{base}_desc-noiseless_bold.json",
        {
            "TaskName": task,
            "RepetitionTime": tr,
            "SliceTiming": run.truth["slice_timing"],
            "SkullStripped": False,
            "Description": "Simulated BOLD without thermal noise: baseline x (1 + "
            "network signals + drift); scaled int16 (scl_slope).",
            "Sources": [f"bids:raw:sub-{subject}/func/{base}_bold.nii.gz"],
        },
    )
    _tsv(deriv / f"{base}_desc-drives_timeseries.tsv", run.drives)
    names = [n["name"] for n in run.truth["networks"]]
    columns = {
        n: {
            "Description": f"Mean neural drive of the {n} network over the "
            "volume's TR window (z units)."
        }
        for n in names
    }
    columns.update(
        {
            f"{n}_hrf": {
                "Description": f"HRF-convolved drive of the {n} network at mid-volume."
            }
            for n in names
        }
    )
    columns["drift"] = {"Description": "Slow scanner drift (fraction of baseline)."}
    _json(deriv / f"{base}_desc-drives_timeseries.json", columns)
    _json(deriv / f"{base}_desc-truth.json", run.truth)
    paths = {"eeg": eeg_dir / f"{base}_eeg.vhdr", "bold": bold_path}
    if run.clean_eeg is not None:
        paths["clean_eeg"] = _write_clean_eeg(root, run, subject, base)
    return paths


def _write_clean_eeg(root, run, subject, base):
    """Write the EEG without scanner artifacts as ``desc-clean`` BrainVision."""
    import pybv

    deriv = root / "derivatives" / DERIV_NAME / f"sub-{subject}" / "eeg"
    deriv.mkdir(parents=True, exist_ok=True)
    stem = f"{base}_desc-clean_eeg"
    pybv.write_brainvision(
        data=run.clean_eeg * np.float32(1e-6),
        sfreq=run.sfreq,
        ch_names=run.ch_names,
        fname_base=stem,
        folder_out=str(deriv),
        overwrite=True,
        events=None,
        resolution=0.1,
        unit="µV",
        fmt="binary_float32",
    )
    _write_vmrk(deriv / f"{stem}.vmrk", f"{stem}.eeg", run.markers)
    _json(
        deriv / f"{stem}.json",
        {
            "Description": "Simulated EEG before the scanner artifacts (gradient, "
            "pulse) were added: the truth a correction should recover. Same "
            "channels, sampling and markers as the raw recording.",
            "SamplingFrequency": run.sfreq,
            "RecordingDuration": round(run.eeg.shape[1] / run.sfreq, 6),
            "Sources": [f"bids:raw:sub-{subject}/eeg/{base}_eeg.vhdr"],
        },
    )
    return deriv / f"{stem}.vhdr"


def write_network_maps(root, maps, affine, subject, task, run_label):
    """Write the (K, D, H, W) network maps as a 4-D NIfTI (4th axis = network)."""
    import nibabel as nib

    base = run_basename(subject, task, run_label)
    deriv = root / "derivatives" / DERIV_NAME / f"sub-{subject}" / "func"
    img = nib.Nifti1Image(np.ascontiguousarray(maps.transpose(2, 3, 1, 0)), affine)
    img.header.set_xyzt_units("mm", "unknown")
    img.header.set_data_dtype(np.float32)
    img.header.set_qform(affine, code=4)
    img.header.set_sform(affine, code=4)
    path = deriv / f"{base}_desc-networks_mask.nii.gz"
    img.to_filename(path)
    _json(
        deriv / f"{base}_desc-networks_mask.json",
        {
            "Type": "ROI",
            "Description": "Simulated network maps (4th axis = network, in the order "
            "of 'networks' in the truth JSON), weights in [0, 1].",
            "SpatialReference": "MNI152 ICBM 2009a symmetric (nilearn bundled "
            "template), resampled to the BOLD grid",
            "Sources": [f"bids:raw:sub-{subject}/func/{base}_bold.nii.gz"],
        },
    )
    return path


def write_top_level(root, preset, subjects, networks):
    """Write dataset-level files of the raw and the derivative dataset.

    Parameters
    ----------
    root : Path
    preset : SimulationPreset
    subjects : list of dict
        Each with ``label``, ``age``, ``sex``.
    networks : sequence of NetworkSpec
    """
    import pandas as pd

    from .generative import slice_timing

    p = preset
    generated_by = [
        {
            "Name": "eeg2fmri",
            "Version": __version__,
            "Description": "eeg2fmri.simulate: simulated simultaneous EEG-fMRI "
            "with known ground truth",
            "CodeURL": CODE_URL,
        }
    ]
    _json(
        root / "dataset_description.json",
        {
            "Name": f"eeg2fmri simulated EEG-fMRI ({p.name} preset)",
            "BIDSVersion": "1.10.0",
            "DatasetType": "raw",
            "License": "CC0",
            "Authors": ["eeg2fmri simulator"],
            "GeneratedBy": generated_by,
        },
    )
    (root / "README").write_text(
        f"Simulated simultaneous EEG-fMRI dataset ({p.name} preset), written by "
        f"eeg2fmri {__version__} (eeg2fmri.simulate).\n\n"
        f"Task '{p.task}' ({p.paradigm}); EEG {p.n_channels} channels at "
        f"{p.sfreq:g} Hz (BrainVision, µV), BOLD {tuple(p.bold_shape)} (D, H, W) "
        f"at TR {p.tr:g} s in "
        "MNI space. Volume triggers are markers in the .vmrk files "
        f"('{p.trigger}'). Networks: {', '.join(n.name for n in networks)}.\n"
        "Ground truth (noise-free BOLD, neural drives, network maps, trigger times) is "
        "in derivatives/simulation/.\n",
        encoding="utf-8",
    )
    _tsv(
        root / "participants.tsv",
        pd.DataFrame(
            {
                "participant_id": [f"sub-{s['label']}" for s in subjects],
                "age": [s["age"] for s in subjects],
                "sex": [s["sex"] for s in subjects],
            }
        ),
    )
    _json(
        root / "participants.json",
        {
            "age": {
                "Description": "age of the participant (simulated)",
                "Units": "year",
            },
            "sex": {
                "Description": "sex of the participant (simulated)",
                "Levels": {"M": "male", "F": "female"},
            },
        },
    )
    n_ecg = int(p.has_ecg)
    if p.paradigm == "rest":
        task_description = "Resting state with eyes open (simulated)."
        instructions = "Fixate the cross and relax."
    else:
        task_description = (
            "Oddball: frequent standard and rare target stimuli (simulated)."
        )
        instructions = "Respond to the rare target stimuli."
    _json(
        root / f"task-{p.task}_eeg.json",
        {
            "TaskName": p.task,
            "SamplingFrequency": p.sfreq,
            "EEGReference": p.eeg_reference,
            "EEGGround": "AFz",
            "PowerLineFrequency": p.line_freq,
            "SoftwareFilters": "n/a",
            "HardwareFilters": "n/a",
            "EEGChannelCount": p.n_channels - n_ecg,
            "ECGChannelCount": n_ecg,
            "EOGChannelCount": 0,
            "EMGChannelCount": 0,
            "MISCChannelCount": 0,
            "TriggerChannelCount": 0,
            "RecordingType": "continuous",
            "EEGPlacementScheme": "10-10 (easycap-M1 positions)",
            "CapManufacturer": "simulated",
            "Manufacturer": "eeg2fmri simulator",
            "ManufacturersModelName": "eeg2fmri.simulate",
            "CapManufacturersModelName": "n/a",
            "SoftwareVersions": __version__,
            "InstitutionName": "n/a (simulated)",
            "TaskDescription": task_description,
            "Instructions": instructions,
        },
    )
    st = slice_timing(p.bold_shape[0], p.tr, p.slice_order)
    _json(
        root / f"task-{p.task}_bold.json",
        {
            "TaskName": p.task,
            "RepetitionTime": p.tr,
            "SliceTiming": np.round(st, 6).tolist(),
            "SliceEncodingDirection": "k",
            "MagneticFieldStrength": p.field_strength,
            "Manufacturer": "eeg2fmri simulator",
            "ManufacturersModelName": "eeg2fmri.simulate",
            "SoftwareVersions": __version__,
            "InstitutionName": "n/a (simulated)",
            "EchoTime": 0.03 if p.field_strength < 2 else 0.025,
            "FlipAngle": 75 if p.field_strength < 2 else 80,
            "MRAcquisitionType": "2D",
            "PulseSequenceType": "Gradient Echo EPI",
            "PhaseEncodingDirection": "j-",
            "TaskDescription": task_description,
            "Instructions": instructions,
        },
    )
    if p.paradigm != "rest":
        events_doc = {
            "trial_type": {
                "Description": "stimulus kind or volume trigger",
                "Levels": {
                    "standard": "frequent stimulus",
                    "target": "rare stimulus (evokes a P300)",
                    p.trigger: "scanner volume trigger (EEG only)",
                },
            },
            "value": {"Description": "BrainVision marker code (S 1 / S 2)"},
            "sample": {"Description": "0-based EEG sample of the onset"},
        }
        _json(root / f"task-{p.task}_events.json", events_doc)

    deriv = root / "derivatives" / DERIV_NAME
    _json(
        deriv / "dataset_description.json",
        {
            "Name": f"eeg2fmri simulation ground truth ({p.name} preset)",
            "BIDSVersion": "1.10.0",
            "DatasetType": "derivative",
            "GeneratedBy": [
                {
                    "Name": DERIV_NAME,
                    "Version": __version__,
                    "Description": "eeg2fmri.simulate ground truth",
                    "CodeURL": CODE_URL,
                }
            ],
            "SourceDatasets": [{"URL": "bids:raw"}],
            "DatasetLinks": {"raw": "../.."},
        },
    )
    (deriv / ".bidsignore").write_text(
        "*_timeseries.tsv\n*_timeseries.json\n*_desc-truth.json\n", encoding="utf-8"
    )
    (deriv / "README").write_text(
        "Ground truth of the eeg2fmri simulation: *_desc-noiseless_bold.nii.gz (BOLD "
        "without thermal noise), *_desc-drives_timeseries.tsv (per volume: network "
        "drives, HRF-convolved drives, drift), *_desc-networks_mask.nii.gz (4-D, one "
        "network map per volume in the order of 'networks' in the truth JSON) and "
        "*_desc-truth.json (volume onsets in EEG seconds, coupling, seeds).\n",
        encoding="utf-8",
    )
