"""Dataset-level BIDS files of a simulated dataset: descriptions, README, sidecars.

Used by :func:`~eeg2fmri.simulate.simulate_dataset` (:func:`write_top_level`) and by
:func:`~eeg2fmri.simulate.simulate_eeg_only_dataset` (the parts without BOLD).
"""

import numpy as np

from .._version import __version__
from .haemodynamics import slice_timing
from .writer import CODE_URL, DERIV_NAME, _json, _tsv

__all__ = [
    "write_raw_description",
    "write_participants",
    "write_eeg_task_sidecar",
    "write_events_sidecar",
    "write_derivative_description",
    "write_top_level",
]


def _generated_by():
    return [
        {
            "Name": "eeg2fmri",
            "Version": __version__,
            "Description": "eeg2fmri.simulate: simulated simultaneous EEG-fMRI "
            "with known ground truth",
            "CodeURL": CODE_URL,
        }
    ]


def _task_texts(p):
    """(TaskDescription, Instructions) of a preset's paradigm."""
    if p.paradigm == "rest":
        return (
            "Resting state with eyes open (simulated).",
            "Fixate the cross and relax.",
        )
    return (
        "Oddball: frequent standard and rare target stimuli (simulated).",
        "Respond to the rare target stimuli.",
    )


def write_raw_description(root, name, readme):
    """Write the raw ``dataset_description.json`` and ``README``."""
    _json(
        root / "dataset_description.json",
        {
            "Name": name,
            "BIDSVersion": "1.10.0",
            "DatasetType": "raw",
            "License": "CC0",
            "Authors": ["eeg2fmri simulator"],
            "GeneratedBy": _generated_by(),
        },
    )
    (root / "README").write_text(readme, encoding="utf-8")


def write_participants(root, subjects):
    """Write ``participants.tsv`` (+ ``.json``) from subject dicts (label, age, sex)."""
    import pandas as pd

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


def write_eeg_task_sidecar(root, preset, *, sfreq=None, counts=None):
    """Write ``task-<task>_eeg.json`` (inherited by every run).

    Parameters
    ----------
    root : Path
    preset : SimulationPreset
    sfreq : float, optional
        Sampling frequency written (default: the preset's).
    counts : dict, optional
        Channel counts per BIDS type (``{"EEG": 63, "ECG": 1, "EOG": 0, ...}``);
        default: the preset's EEG and ECG channels.
    """
    p = preset
    if counts is None:
        counts = {"EEG": p.n_channels - int(p.has_ecg), "ECG": int(p.has_ecg)}
    task_description, instructions = _task_texts(p)
    _json(
        root / f"task-{p.task}_eeg.json",
        {
            "TaskName": p.task,
            "SamplingFrequency": p.sfreq if sfreq is None else sfreq,
            "EEGReference": p.eeg_reference,
            "EEGGround": "AFz",
            "PowerLineFrequency": p.line_freq,
            "SoftwareFilters": "n/a",
            "HardwareFilters": "n/a",
            "EEGChannelCount": int(counts.get("EEG", 0)),
            "ECGChannelCount": int(counts.get("ECG", 0)),
            "EOGChannelCount": int(counts.get("EOG", 0)),
            "EMGChannelCount": int(counts.get("EMG", 0)),
            "MISCChannelCount": int(counts.get("MISC", 0)),
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


def write_events_sidecar(root, preset, *, with_trigger=True):
    """Write ``task-<task>_events.json`` for task paradigms (nothing for rest)."""
    p = preset
    if p.paradigm == "rest":
        return
    levels = {
        "standard": "frequent stimulus",
        "target": "rare stimulus (evokes a P300)",
    }
    if with_trigger:
        levels[p.trigger] = "scanner volume trigger (EEG only)"
    events_doc = {
        "trial_type": {
            "Description": "stimulus kind or volume trigger",
            "Levels": levels,
        },
        "value": {"Description": "BrainVision marker code (S 1 / S 2)"},
        "sample": {"Description": "0-based EEG sample of the onset"},
    }
    _json(root / f"task-{p.task}_events.json", events_doc)


def write_derivative_description(root, preset, *, readme_extra="", ignore_extra=()):
    """Write ``derivatives/simulation``'s description, ``.bidsignore`` and README."""
    deriv = root / "derivatives" / DERIV_NAME
    _json(
        deriv / "dataset_description.json",
        {
            "Name": f"eeg2fmri simulation ground truth ({preset.name} preset)",
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
    ignore = ["*_timeseries.tsv", "*_timeseries.json", "*_desc-truth.json"]
    (deriv / ".bidsignore").write_text(
        "\n".join([*ignore, *ignore_extra]) + "\n", encoding="utf-8"
    )
    (deriv / "README").write_text(
        "Ground truth of the eeg2fmri simulation: *_desc-noiseless_bold.nii.gz (BOLD "
        "without noise), *_desc-ceiling_bold.nii.gz (the BOLD predicted from what "
        "the EEG carries, through the true haemodynamics: the ceiling of any EEG "
        "model), *_desc-drives_timeseries.tsv (per volume: network "
        "drives, HRF-convolved drives, drift), *_desc-networks_mask.nii.gz (4-D, one "
        "network map per volume in the order of 'networks' in the truth JSON) and "
        "*_desc-truth.json (volume onsets in EEG seconds, coupling, seeds).\n"
        + readme_extra,
        encoding="utf-8",
    )


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
    p = preset
    write_raw_description(
        root,
        f"eeg2fmri simulated EEG-fMRI ({p.name} preset)",
        f"Simulated simultaneous EEG-fMRI dataset ({p.name} preset), written by "
        f"eeg2fmri {__version__} (eeg2fmri.simulate).\n\n"
        f"Task '{p.task}' ({p.paradigm}); EEG {p.n_channels} channels at "
        f"{p.sfreq:g} Hz (BrainVision, µV), BOLD {tuple(p.bold_shape)} (D, H, W) "
        f"at TR {p.tr:g} s in "
        "MNI space. Volume triggers are markers in the .vmrk files "
        f"('{p.trigger}'). Networks: {', '.join(n.name for n in networks)}.\n"
        "Ground truth (noise-free BOLD, neural drives, network maps, trigger times) is "
        "in derivatives/simulation/.\n",
    )
    write_participants(root, subjects)
    write_eeg_task_sidecar(root, p)
    task_description, instructions = _task_texts(p)
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
    write_events_sidecar(root, p)
    write_derivative_description(root, p)
