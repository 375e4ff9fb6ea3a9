"""``simulate_eeg_only_dataset``: the EEG of a participant "recorded elsewhere".

The participants are the same people as in :func:`~eeg2fmri.simulate.simulate_dataset`
with the same preset, overrides and seed (subject ``"05"`` is index 4), so the EEG-only
dataset of ``"05"`` is the held-out participant of a training dataset of subjects
01-04. Only the EEG is written as raw BIDS, on another cap (:mod:`.cap`); the BOLD the
scanner would have recorded and the rest of the ground truth go to
``derivatives/simulation``.
"""

import numpy as np
import pandas as pd

from .._utils.logging import logger
from .._version import __version__
from .cap import (
    BAD_DESCRIPTIONS,
    choose_bad_channels,
    corrupt_channel,
    extra_channel_data,
    plan_cap,
    resample_and_crop,
)
from .dataset import (
    _prepare_out_dir,
    _subject_params,
    atomic_dataset_dir,
    check_positive_int,
    root_seed_sequence,
    simulate_subject_run,
)
from .generative import GenerativeModel, channel_layout
from .presets import resolve_preset
from .sidecars import (
    write_derivative_description,
    write_eeg_task_sidecar,
    write_events_sidecar,
    write_participants,
    write_raw_description,
)
from .writer import (
    DERIV_NAME,
    _bold_image,
    _json,
    _tsv,
    run_basename,
    write_eeg_recording,
    write_network_maps,
    write_truth,
)

__all__ = ["simulate_eeg_only_dataset", "CAP_SPAWN_KEY"]

#: Spawn key of the dataset-level cap stream (dropped channels, permutation). No run
#: of :func:`simulate_dataset` has run index 0, so ``(0, 0)`` is never used there.
CAP_SPAWN_KEY = (0, 0)
#: Spawn-key suffixes of the per-recording streams (bad channels, extra channels).
_RUN_STREAMS = {"bad": 2001, "extra": 2002}

_MAX_SUBJECT = 9999


def _run_rng(root_ss, index, run_index, stream):
    key = (index, run_index + 1, _RUN_STREAMS[stream])
    return np.random.default_rng(np.random.SeedSequence(root_ss.entropy, spawn_key=key))


def _subject_indices(subjects):
    """0-based subject indices from labels such as ``"05"`` (or ints), checked."""
    if isinstance(subjects, (str, int, np.integer)):
        subjects = (subjects,)
    try:
        labels = list(subjects)
    except TypeError:
        labels = None
    indices = []
    for label in labels or [None]:
        text = str(label).removeprefix("sub-") if label is not None else ""
        if (
            isinstance(label, bool)
            or not text.isdigit()
            or not 1 <= int(text) <= (_MAX_SUBJECT)
        ):
            raise ValueError(
                "subjects: expected subject labels that are positive integers such "
                f"as '05' (label 05 = the fifth simulated subject), got {subjects!r}"
            )
        indices.append(int(text) - 1)
    if len(set(indices)) != len(indices):
        raise ValueError(f"subjects: expected distinct labels, got {subjects!r}")
    return indices


def _scanner_marker_kinds(trigger):
    trig_type, _, trig_desc = trigger.partition("/")
    return {(trig_type, trig_desc), ("Scanner", "s"), ("Pulse Artifact", "R")}


def _remap(samples, start, plan):
    """Original EEG samples -> written samples (after crop and resampling)."""
    return np.round((np.asarray(samples) - start) * plan.up / plan.down).astype(int)


def _recording(run, plan, *, keep_volume_markers, rng_bad, rng_extra, heart_rate):
    """The written EEG of one run: data, markers, events, status, timing."""
    use_clean = run.clean_eeg is not None and not keep_volume_markers
    source = run.clean_eeg if use_clean else run.eeg
    eeg_rows = [i for i, t in enumerate(run.ch_types) if t == "EEG"]
    eeg_names = [run.ch_names[i] for i in eeg_rows]
    extra = extra_channel_data(
        plan.extra, source[eeg_rows], eeg_names, run.sfreq, rng_extra, heart_rate
    )
    row_of = {n: i for i, n in enumerate(run.ch_names)}
    row_of.update({n: len(run.ch_names) + j for j, (n, _) in enumerate(plan.extra)})
    stacked = np.concatenate([source, extra]) if len(plan.extra) else source
    picks = [row_of[n] for n in plan.order]
    first = int(run.truth["first_volume_sample"])
    start = 0 if keep_volume_markers else first
    data = resample_and_crop(stacked[picks], start, plan.up, plan.down)
    n_out = data.shape[1]

    bad = choose_bad_channels(plan, rng_bad)
    status = ["good"] * len(plan.order)
    status_description = ["n/a"] * len(plan.order)
    for name, kind in bad.items():
        i = plan.order.index(name)
        data[i] = corrupt_channel(n_out, plan.sfreq_out, kind, rng_bad)
        status[i], status_description[i] = "bad", BAD_DESCRIPTIONS[kind]

    drop = set() if keep_volume_markers else _scanner_marker_kinds(run.truth["trigger"])
    markers = []
    for kind, desc, sample in run.markers:
        if (kind, desc) in drop:
            continue
        new = int(_remap(sample, start, plan))
        if 0 <= new < n_out:
            markers.append((kind, desc, new))

    events = None
    if run.events is not None:
        ev = run.events.copy()
        ev["sample"] = _remap(ev["sample"], start, plan)
        if keep_volume_markers:
            samples = _remap(run.truth["volume_onset_samples"], start, plan)
            triggers = pd.DataFrame(
                {
                    "onset": 0.0,
                    "duration": 0.0,
                    "trial_type": run.truth["trigger"],
                    "value": "n/a",
                    "sample": samples,
                }
            )
            ev = pd.concat([ev.astype({"value": object}), triggers])
        ev = ev[(ev["sample"] >= 0) & (ev["sample"] < n_out)]
        ev["onset"] = np.round(ev["sample"] / plan.sfreq_out, 6)
        events = ev.sort_values(["sample", "trial_type"], kind="stable")

    onsets = np.asarray(run.volume_onsets) - start / run.sfreq
    if keep_volume_markers:
        rule = (
            f"volume k starts at volume_onsets_s[k] seconds after EEG sample 0; the "
            f"volume triggers '{run.truth['trigger']}' are in the .vmrk (nothing "
            "cropped)"
        )
    else:
        onsets = np.arange(onsets.size) * run.truth["repetition_time"]
        rule = (
            "volume k starts at k * RepetitionTime seconds after EEG sample 0 (the EEG "
            "was cropped at the onset of volume 0; no scanner markers)"
        )
    timing = {
        "rule": rule,
        "keep_volume_markers": bool(keep_volume_markers),
        "repetition_time": run.truth["repetition_time"],
        "n_volumes": int(onsets.size),
        "first_volume_sample": int(_remap(first, start, plan)),
        "volume_onsets_s": np.round(onsets, 6).tolist(),
        "cropped_original_samples": int(start),
        "markers_dropped": sorted("/".join(k) for k in drop),
    }
    if run.clean_eeg is None:
        artifacts = "none (the preset simulates none)"
    elif use_clean:
        artifacts = (
            "none: EEG outside the scanner, the artifact-free EEG of the run (the "
            "paired dataset's derivatives/simulation desc-clean EEG) is written"
        )
    else:
        artifacts = "as recorded in the scanner (gradient and/or pulse artifacts)"
    bad_info = [
        {
            "name": plan.rename.get(n, n),
            "original_name": n,
            "kind": k,
            "description": BAD_DESCRIPTIONS[k],
        }
        for n, k in bad.items()
    ]
    return {
        "data": data,
        "markers": markers,
        "events": events,
        "status": status,
        "status_description": status_description,
        "timing": timing,
        "artifacts": artifacts,
        "bad": bad_info,
    }


def _write_measured_bold(deriv, base, run, *, affine, tr, task):
    _bold_image(run.bold, affine, tr, np.int16).to_filename(
        deriv / f"{base}_desc-measured_bold.nii.gz"
    )
    _json(
        deriv / f"{base}_desc-measured_bold.json",
        {
            "TaskName": task,
            "RepetitionTime": tr,
            "SliceTiming": run.truth["slice_timing"],
            "SkullStripped": False,
            "Description": "The BOLD the scanner would have recorded during this EEG "
            "(simulated): the raw func BOLD that simulate_dataset writes for this "
            "participant with the same preset, overrides and seed (int16 magnitude).",
        },
    )


def simulate_eeg_only_dataset(
    out_dir,
    preset="noddi",
    *,
    subjects=("05",),
    n_runs=1,
    n_volumes=None,
    random_state=None,
    drop_channels=0,
    rename=None,
    shuffle_channels=True,
    sfreq=None,
    bad_channels=0,
    extra_channels=(),
    keep_volume_markers=False,
    overwrite=False,
    **overrides,
):
    """Simulate EEG-only BIDS data of participants "recorded elsewhere".

    The participants are the same people as in :func:`simulate_dataset` with the same
    ``preset``, ``overrides`` and ``random_state``: label ``"05"`` is the fifth
    subject (``spawn_key=(4,)``), so this is the held-out participant of a training
    dataset of subjects 01-04 simulated with the same seed. The kept channels carry
    sample for sample the EEG ``simulate_dataset`` writes (from volume 0 on, unless
    ``keep_volume_markers``), and the BOLD truth is identical. Written atomically.

    Parameters
    ----------
    out_dir : str or Path
        Dataset root to create (must not exist or be empty, unless ``overwrite``).
    preset : str or SimulationPreset, default="noddi"
    subjects : sequence of str, default=("05",)
        Subject labels (positive integers, written with two digits like
        ``simulate_dataset``: ``"5"`` is written ``sub-05``).
    n_runs : int, default=1
        Runs per subject (``run-<n>`` entities only when > 1).
    n_volumes : int, optional
        Volumes per run (default: the preset's).
    random_state : None, int, SeedSequence or Generator
        The seed of the paired ``simulate_dataset``.
    drop_channels : int or list of str, default=0
        That many EEG channels removed (drawn with the seed, never ECG), or their
        names.
    rename : None, "10-20-old" or dict, default=None
        ``"10-20-old"``: T7/T8/P7/P8 -> T3/T4/T5/T6 and FP1, FP2, FPZ, FZ, CZ, PZ
        (:data:`~eeg2fmri.simulate.cap.RENAME_10_20_OLD`); a dict maps training-cap
        names to written ones.
    shuffle_channels : bool, default=True
        Permute the written channel order (drawn with the seed).
    sfreq : float, optional
        Written sampling frequency; the EEG is resampled with
        :func:`scipy.signal.resample_poly` (anti-aliasing FIR). Default: the preset's.
    bad_channels : int or list of str, default=0
        Channels corrupted in each recording (drawn per recording, or the given
        training-cap names): replaced by high-amplitude noise or a flat line plus
        drift, and marked ``status=bad`` with a ``status_description``.
    extra_channels : sequence of str, default=()
        Channels the training cap does not have: ``"EOG"``, ``"VEOG"``, ``"HEOG"``,
        ``"EMG"``, ``"ECG"`` (when the preset has none) or 10-10 electrode names;
        typed in ``channels.tsv``, with plausible data from their own random
        stream (they do not change the other channels).
    keep_volume_markers : bool, default=False
        False (EEG outside the scanner): no volume, slice or pulse markers, and the
        EEG is cropped so that sample 0 is the onset of volume 0 (volume ``k``
        starts at ``k * TR``); presets with scanner artifacts write their
        artifact-free EEG. True: the recording as ``simulate_dataset`` writes it
        (markers kept, nothing cropped).
    overwrite : bool, default=False
    **overrides
        Any :class:`SimulationPreset` field (as for ``simulate_dataset``).

    Returns
    -------
    out_dir : pathlib.Path

    Raises
    ------
    ValueError, TypeError
        A bad parameter (one-line message naming it).
    FileExistsError
        ``out_dir`` exists and is not empty (and not ``overwrite``).

    Notes
    -----
    Files (``<base>`` = ``sub-XX_task-<task>[_run-N]``):
    ``dataset_description.json``, ``README``, ``participants.tsv``,
    ``task-<task>_eeg.json`` (written ``SamplingFrequency`` and channel counts),
    ``sub-XX/eeg/<base>_eeg.{vhdr,vmrk,eeg}``, ``_eeg.json``, ``_channels.tsv``
    (type, status, status_description), and for task
    presets ``_events.tsv``; **no** ``func/``. In ``derivatives/simulation/sub-XX/``:
    ``func/<base>_desc-measured_bold.nii.gz`` (the BOLD the scanner would have
    recorded), ``desc-noiseless_bold``, ``desc-drives_timeseries``,
    ``desc-networks_mask``, ``desc-truth.json`` (as ``simulate_dataset`` writes them),
    and ``eeg/<base>_desc-capchanges.json`` (original and written channels, dropped,
    renamed, bad, extra, permutation, sampling frequencies, volume timing rule).
    """
    from pathlib import Path

    out_dir = Path(out_dir)
    if n_volumes is not None:
        overrides["n_volumes"] = n_volumes
    p = resolve_preset(preset, **overrides)
    indices = _subject_indices(subjects)
    check_positive_int("n_runs", n_runs)
    if not isinstance(keep_volume_markers, (bool, np.bool_)):
        raise ValueError(
            f"keep_volume_markers: expected True or False, got {keep_volume_markers!r}"
        )
    root_ss = root_seed_sequence(random_state)
    ch_names, ch_types = channel_layout(p.n_channels, p.has_ecg)
    cap_rng = np.random.default_rng(
        np.random.SeedSequence(root_ss.entropy, spawn_key=CAP_SPAWN_KEY)
    )
    plan = plan_cap(
        ch_names,
        ch_types,
        rng=cap_rng,
        drop_channels=drop_channels,
        rename=rename,
        shuffle_channels=shuffle_channels,
        extra_channels=extra_channels,
        bad_channels=bad_channels,
        sfreq_in=p.sfreq,
        sfreq_out=sfreq,
    )
    _prepare_out_dir(out_dir, overwrite)

    model = GenerativeModel(p)
    affine = model.anatomy.affine
    with atomic_dataset_dir(out_dir, overwrite) as tmp:
        people = []
        for s in indices:
            subject = _subject_params(root_ss, s)
            people.append(subject)
            sub = subject["label"]
            for r in range(n_runs):
                run = simulate_subject_run(model, root_ss, s, r, n_runs, subject)
                label = r + 1 if n_runs > 1 else None
                base = run_basename(sub, p.task, label)
                rec = _recording(
                    run,
                    plan,
                    keep_volume_markers=keep_volume_markers,
                    rng_bad=_run_rng(root_ss, s, r, "bad"),
                    rng_extra=_run_rng(root_ss, s, r, "extra"),
                    heart_rate=subject["heart_rate"],
                )
                eeg_dir = tmp / f"sub-{sub}" / "eeg"
                write_eeg_recording(
                    eeg_dir,
                    base,
                    eeg=rec["data"],
                    sfreq=plan.sfreq_out,
                    ch_names=plan.written_names,
                    ch_types=plan.written_types,
                    markers=rec["markers"],
                    status=rec["status"],
                    status_description=rec["status_description"],
                )
                if rec["events"] is not None:
                    _tsv(eeg_dir / f"{base}_events.tsv", rec["events"])
                deriv = tmp / "derivatives" / DERIV_NAME / f"sub-{sub}" / "func"
                deriv.mkdir(parents=True, exist_ok=True)
                _write_measured_bold(
                    deriv, base, run, affine=affine, tr=p.tr, task=p.task
                )
                source = f"bids::sub-{sub}/func/{base}_desc-measured_bold.nii.gz"
                write_truth(
                    tmp,
                    run,
                    subject=sub,
                    task=p.task,
                    base=base,
                    affine=affine,
                    tr=p.tr,
                    bold_source=source,
                )
                write_network_maps(
                    tmp, model.maps, affine, sub, p.task, label, source=source
                )
                cap = plan.to_dict()
                cap.update(
                    {
                        "bad": rec["bad"],
                        "scanner_artifacts": rec["artifacts"],
                        "volume_timing": rec["timing"],
                        "paired_dataset": {
                            "function": "eeg2fmri.simulate.simulate_dataset",
                            "preset": p.name,
                            "subject": sub,
                            "subject_index": s,
                            "seed": run.truth["seed"],
                            "eeg": f"sub-{sub}/eeg/{base}_eeg.vhdr",
                            "bold": f"sub-{sub}/func/{base}_bold.nii.gz",
                        },
                        "eeg": f"bids:raw:sub-{sub}/eeg/{base}_eeg.vhdr",
                    }
                )
                _json(
                    tmp
                    / "derivatives"
                    / DERIV_NAME
                    / f"sub-{sub}"
                    / "eeg"
                    / f"{base}_desc-capchanges.json",
                    cap,
                )
                logger.info("simulated EEG-only sub-%s run %d", sub, r + 1)
        _write_top_level(tmp, p, plan, people, keep_volume_markers)
    return out_dir


def _write_top_level(root, p, plan, people, keep_volume_markers):
    changes = [
        f"{len(plan.dropped)} channel(s) dropped" if plan.dropped else "",
        f"{len(plan.rename)} renamed" if plan.rename else "",
        "channel order permuted" if plan.shuffled else "",
        f"resampled to {plan.sfreq_out:g} Hz" if plan.up != plan.down else "",
        f"extra channels {', '.join(n for n, _ in plan.extra)}" if plan.extra else "",
    ]
    changes = "; ".join(c for c in changes if c) or "none"
    timing = (
        "Volume triggers are kept in the .vmrk files."
        if keep_volume_markers
        else "No scanner markers: EEG sample 0 is the onset of volume 0 and volume k "
        "starts k * TR later."
    )
    write_raw_description(
        root,
        f"eeg2fmri simulated EEG-only recordings ({p.name} preset, another cap)",
        f"Simulated EEG recorded 'elsewhere' ({p.name} preset), written by eeg2fmri "
        f"{__version__} (eeg2fmri.simulate.simulate_eeg_only_dataset).\n\n"
        f"The participants are those of eeg2fmri.simulate.simulate_dataset with the "
        f"same preset and seed; only their EEG is raw data here, at "
        f"{plan.sfreq_out:g} Hz on another cap (changes: {changes}). {timing}\n"
        "The BOLD the scanner would have recorded and the ground truth are in "
        "derivatives/simulation/.\n",
    )
    write_participants(root, people)
    write_eeg_task_sidecar(root, p, sfreq=plan.sfreq_out, counts=plan.counts())
    write_events_sidecar(root, p, with_trigger=keep_volume_markers)
    write_derivative_description(
        root,
        p,
        readme_extra="EEG-only dataset: *_desc-measured_bold.nii.gz is the BOLD the "
        "scanner would have recorded; sub-XX/eeg/*_desc-capchanges.json describes "
        "how the cap differs from the training cap (dropped, renamed, bad and extra "
        "channels, channel order, sampling rate, volume timing).\n",
        ignore_extra=("*_desc-capchanges.json",),
    )
