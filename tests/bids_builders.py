"""Tiny hand-built BIDS datasets for the eeg2fmri.bids tests.

BrainVision via pybv, NIfTI via nibabel. Loaded by tests/test_bids_*.py.
"""

import json
from pathlib import Path

import nibabel as nib
import numpy as np
import pybv


def write_json(path, obj):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))
    return path


def write_brainvision(
    vhdr,
    *,
    n_channels=4,
    sfreq=100.0,
    duration=30.0,
    markers=(),
    data=None,
    ch_names=None,
    seed=0,
):
    """Write a BrainVision triplet; ``markers`` = [(type, description, onset_seconds)].

    Stimulus/Response markers with integer codes go through pybv; any other type
    (``Scanner``, ``Pulse Artifact``) is appended to the .vmrk by hand, as BrainVision
    Analyzer writes them.
    """
    vhdr = Path(vhdr)
    vhdr.parent.mkdir(parents=True, exist_ok=True)
    n_times = int(round(duration * sfreq))
    if data is None:
        rng = np.random.default_rng(seed)
        data = rng.standard_normal((n_channels, n_times)) * 1e-5
    if ch_names is None:
        ch_names = [f"E{i + 1}" for i in range(data.shape[0])]
    events, custom = [], []
    for kind, desc, onset in markers:
        sample = int(round(onset * sfreq))
        if kind in ("Stimulus", "Response") and str(desc)[1:].isdigit():
            events.append(
                {
                    "onset": sample,
                    "duration": 1,
                    "type": kind,
                    "description": int(str(desc)[1:]),
                }
            )
        else:
            custom.append((kind, desc, sample))
    pybv.write_brainvision(
        data=data,
        sfreq=sfreq,
        ch_names=ch_names,
        fname_base=vhdr.stem,
        folder_out=vhdr.parent,
        events=events or None,
        overwrite=True,
    )
    if custom:
        vmrk = vhdr.with_suffix(".vmrk")
        text = vmrk.read_text(encoding="utf-8")
        n = text.count("\nMk")
        lines = [
            f"Mk{n + i + 1}={k},{d},{s + 1},1,0" for i, (k, d, s) in enumerate(custom)
        ]
        vmrk.write_text(
            text.rstrip("\n") + "\n" + "\n".join(lines) + "\n", encoding="utf-8"
        )
    return vhdr


def write_bold(path, *, shape=(6, 5, 4), n_volumes=10, tr=2.0, units="sec", seed=0):
    """Write a tiny 4-D NIfTI (x, y, z, t) with the given header TR and time unit."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    data = (rng.random((*shape, n_volumes)) * 1000).astype(np.float32)
    img = nib.Nifti1Image(data, np.diag([3.0, 3.0, 4.0, 1.0]))
    img.header.set_xyzt_units("mm", units)
    if tr is not None:
        img.header["pixdim"][4] = tr
    nib.save(img, path)
    return path


def volume_markers(n_volumes, tr, *, lead=1.0, kind="Response", desc="R128"):
    return [(kind, desc, lead + k * tr) for k in range(n_volumes)]


def make_run(
    root,
    sub,
    task="rest",
    *,
    ses=None,
    run=None,
    acq=None,
    eeg=True,
    bold=True,
    tr=2.0,
    n_volumes=10,
    sfreq=100.0,
    lead=1.0,
    markers=None,
    eeg_root=None,
    bold_root=None,
):
    """Write one EEG+BOLD run (either part optional) and return (vhdr, nii) paths."""
    ents = f"sub-{sub}" + (f"_ses-{ses}" if ses else "") + f"_task-{task}"
    ents += (f"_acq-{acq}" if acq else "") + (f"_run-{run}" if run else "")
    rel = Path(f"sub-{sub}") / (f"ses-{ses}" if ses else "")
    vhdr = nii = None
    if eeg:
        if markers is None:
            markers = volume_markers(n_volumes, tr, lead=lead)
        duration = lead + n_volumes * tr + 2.0
        vhdr = write_brainvision(
            Path(eeg_root or root) / rel / "eeg" / f"{ents}_eeg.vhdr",
            sfreq=sfreq,
            duration=duration,
            markers=markers,
        )
    if bold:
        nii = write_bold(
            Path(bold_root or root) / rel / "func" / f"{ents}_bold.nii.gz",
            n_volumes=n_volumes,
            tr=tr,
        )
    return vhdr, nii


def make_dataset(
    root, *, subjects=("01", "02"), task="rest", tr=2.0, top_level_tr=True, **kwargs
):
    """A raw dataset: description, participants.tsv, task-<task>_bold.json, runs."""
    root = Path(root)
    write_json(
        root / "dataset_description.json", {"Name": "test", "BIDSVersion": "1.9.0"}
    )
    (root / "participants.tsv").write_text(
        "participant_id\n" + "".join(f"sub-{s}\n" for s in subjects)
    )
    if top_level_tr:
        write_json(
            root / f"task-{task}_bold.json",
            {
                "TaskName": task,
                "RepetitionTime": tr,
                "SliceTiming": [0.0, 0.5, 1.0, 1.5],
            },
        )
    for sub in subjects:
        make_run(root, sub, task, tr=tr, **kwargs)
    return root
