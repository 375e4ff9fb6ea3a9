"""Write simulated runs as a BIDS dataset (raw + ``derivatives/simulation``).

The BrainVision triplet is written by
:func:`eeg2fmri.bids.brainvision.write_brainvision` with vendor-style markers
(``Scanner,Scan Start``, ``Scanner,s``, ``Pulse Artifact,R``, ``Response,R128``,
``Stimulus,S  1``), which pybv cannot write itself. Sidecars are written directly (no
mne-bids), so the file markers and the sidecars say exactly what the simulator did.
"""

import json

import numpy as np

from ..bids.brainvision import write_brainvision

__all__ = [
    "write_run",
    "write_truth",
    "write_eeg_recording",
    "write_network_maps",
    "run_basename",
]

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


def write_eeg_recording(
    eeg_dir,
    base,
    *,
    eeg,
    sfreq,
    ch_names,
    ch_types,
    markers,
    status=None,
    status_description=None,
):
    """Write one BrainVision recording with its ``_eeg.json`` and ``_channels.tsv``.

    Parameters
    ----------
    eeg_dir : Path
        ``sub-XX/eeg`` folder (created).
    base : str
        BIDS basename prefix, e.g. ``sub-01_task-rest``.
    eeg : ndarray of shape (n_channels, n_samples) float32
        Data in µV.
    sfreq : float
    ch_names, ch_types : list of str
        Names and BIDS types (``EEG``, ``ECG``, ``EOG``, ``EMG``...), file order.
    markers : list of (str, str, int)
        ``(type, description, 0-based sample)`` written to the ``.vmrk``.
    status : list of str, optional
        ``good`` or ``bad`` per channel (default: all good).
    status_description : list of str, optional
        Why a channel is bad (``n/a`` for good ones); written only with ``status``.

    Returns
    -------
    vhdr : Path
    """
    import pandas as pd

    eeg_dir.mkdir(parents=True, exist_ok=True)
    write_brainvision(
        eeg_dir,
        f"{base}_eeg",
        eeg * np.float32(1e-6),
        sfreq=sfreq,
        ch_names=ch_names,
        markers=markers,
    )
    _json(
        eeg_dir / f"{base}_eeg.json",
        {"RecordingDuration": round(eeg.shape[1] / sfreq, 6)},
    )
    table = {
        "name": list(ch_names),
        "type": list(ch_types),
        "units": "µV",
        "sampling_frequency": sfreq,
        "status": "good" if status is None else list(status),
    }
    if status is not None and status_description is not None:
        table["status_description"] = list(status_description)
    _tsv(eeg_dir / f"{base}_channels.tsv", pd.DataFrame(table))
    return eeg_dir / f"{base}_eeg.vhdr"


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

    base = run_basename(subject, task, run_label)
    eeg_dir = root / f"sub-{subject}" / "eeg"
    func_dir = root / f"sub-{subject}" / "func"
    func_dir.mkdir(parents=True, exist_ok=True)
    vhdr = write_eeg_recording(
        eeg_dir,
        base,
        eeg=run.eeg,
        sfreq=run.sfreq,
        ch_names=run.ch_names,
        ch_types=run.ch_types,
        markers=run.markers,
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
    write_truth(
        root,
        run,
        subject=subject,
        task=task,
        base=base,
        affine=affine,
        tr=tr,
        bold_source=f"bids:raw:sub-{subject}/func/{base}_bold.nii.gz",
    )
    paths = {"eeg": vhdr, "bold": bold_path}
    if run.clean_eeg is not None:
        paths["clean_eeg"] = _write_clean_eeg(root, run, subject, base)
    return paths


def write_truth(root, run, *, subject, task, base, affine, tr, bold_source):
    """Write a run's ``derivatives/simulation`` truth: noise-free BOLD, drives, JSON.

    Parameters
    ----------
    root : Path
        Dataset root (raw); files go to ``derivatives/simulation/sub-XX/func``.
    run : SimulatedRun
    subject, task, base : str
        Subject label, task label and BIDS basename prefix of the run.
    affine : ndarray of shape (4, 4)
    tr : float
    bold_source : str
        BIDS URI of the measured BOLD the truth belongs to (``Sources``).

    Returns
    -------
    deriv : Path
        The ``derivatives/simulation/sub-XX/func`` folder.
    """
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
            "Description": "Simulated BOLD without noise: baseline x (1 + "
            "network signals + drift); scaled int16 (scl_slope).",
            "Sources": [bold_source],
        },
    )
    if run.ceiling is not None:
        _bold_image(run.ceiling, affine, tr, np.int16).to_filename(
            deriv / f"{base}_desc-ceiling_bold.nii.gz"
        )
        _json(
            deriv / f"{base}_desc-ceiling_bold.json",
            {
                "TaskName": task,
                "RepetitionTime": tr,
                "SliceTiming": run.truth["slice_timing"],
                "SkullStripped": False,
                "Description": "Ceiling of any EEG model: "
                + run.truth.get("ceiling", "")
                + " Scaled int16 (scl_slope).",
                "Sources": [bold_source],
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
    described = {
        "_ceiling": "BOLD signal at mid-volume predicted from the EEG-visible part "
        "of the {} drive (the desc-ceiling_bold signal).",
        "_bold_drive": "Mean BOLD drive of the {} network over the volume's TR "
        "window, after the departures from linear coupling (z units).",
        "_ceiling_drive": "Mean EEG-visible drive of the {} network over the "
        "volume's TR window, after the departures from linear coupling: what the "
        "haemodynamics of the desc-ceiling_bold signal see (z units).",
    }
    for column in run.drives.columns:
        for suffix, text in described.items():
            if column.endswith(suffix) and column[: -len(suffix)] in names:
                columns[column] = {"Description": text.format(column[: -len(suffix)])}
    if "vigilance_drowsy" in run.drives.columns:
        columns["vigilance_drowsy"] = {
            "Description": "Fraction of the volume's TR window in the drowsy "
            "vigilance state (0 alert, 1 drowsy)."
        }
        columns["vigilance_weight"] = {
            "Description": "Mean BOLD-drive weight w(t) over the volume's TR window "
            "(1 alert, state_weight drowsy; negated for a participant whose sign "
            "is flipped)."
        }
    _json(deriv / f"{base}_desc-drives_timeseries.json", columns)
    _json(deriv / f"{base}_desc-truth.json", run.truth)
    return deriv


def _write_clean_eeg(root, run, subject, base):
    """Write the EEG without scanner artifacts as ``desc-clean`` BrainVision."""
    deriv = root / "derivatives" / DERIV_NAME / f"sub-{subject}" / "eeg"
    deriv.mkdir(parents=True, exist_ok=True)
    stem = f"{base}_desc-clean_eeg"
    write_brainvision(
        deriv,
        stem,
        run.clean_eeg * np.float32(1e-6),
        sfreq=run.sfreq,
        ch_names=run.ch_names,
        markers=run.markers,
    )
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


def write_network_maps(root, maps, affine, subject, task, run_label, source=None):
    """Write the (K, D, H, W) network maps as a 4-D NIfTI (4th axis = network).

    ``source`` is the BIDS URI of the BOLD the maps belong to (default: the raw
    ``func`` BOLD of the run).
    """
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
            "Sources": [source or f"bids:raw:sub-{subject}/func/{base}_bold.nii.gz"],
        },
    )
    return path
