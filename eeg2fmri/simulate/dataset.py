"""``simulate_dataset``: simulate subjects and runs, write them as one BIDS dataset."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

from .._utils.logging import logger
from .generative import GenerativeModel
from .presets import resolve_preset
from .sidecars import write_top_level
from .writer import write_network_maps, write_run

__all__ = ["simulate_dataset", "root_seed_sequence", "atomic_dataset_dir"]


def root_seed_sequence(random_state):
    """Turn ``random_state`` into the dataset's root :class:`numpy.random.SeedSequence`.

    Parameters
    ----------
    random_state : None, int, numpy.random.SeedSequence or numpy.random.Generator
        None draws fresh entropy; a Generator contributes one 128-bit draw.

    Returns
    -------
    seed_sequence : numpy.random.SeedSequence
    """
    if random_state is None or isinstance(random_state, (int, np.integer)):
        if random_state is not None and random_state < 0:
            raise ValueError(
                f"random_state: expected a non-negative integer, got {random_state}"
            )
        return np.random.SeedSequence(
            None if random_state is None else int(random_state)
        )
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(0, 2**63)))
    raise TypeError(
        f"random_state: expected None, an int, a SeedSequence or a Generator, "
        f"got {type(random_state).__name__}"
    )


def _subject_params(root_ss, index):
    """Subject-level random parameters, seeded by ``spawn_key=(index,)``."""
    rng = np.random.default_rng(
        np.random.SeedSequence(root_ss.entropy, spawn_key=(index,))
    )
    return {
        "label": f"{index + 1:02d}",
        "age": int(rng.integers(19, 46)),
        "sex": str(rng.choice(["M", "F"])),
        "heart_rate": round(float(rng.uniform(55, 80)), 3),
        "s0": round(float(rng.uniform(900, 1100)), 3),
        "eeg_gain": round(float(rng.uniform(0.8, 1.2)), 4),
        # unit draws scaled by the preset's departures from linear coupling (drawn
        # after the others, so that adding them changed no earlier value)
        "hrf_z": round(float(rng.standard_normal()), 6),
        "dispersion_z": round(float(rng.standard_normal()), 6),
        "hrf_region_z": [round(float(z), 6) for z in rng.standard_normal(6)],
        "flip_u": round(float(rng.uniform()), 6),
    }


def simulate_subject_run(model, root_ss, index, run_index, n_runs, subject):
    """Simulate run ``run_index`` (0-based) of subject ``index`` (0-based).

    Seeded by ``SeedSequence(root_ss.entropy, spawn_key=(index, run_index + 1))``;
    the truth JSON gains ``subject``, ``run``, ``seed`` and ``preset``.

    Returns
    -------
    run : SimulatedRun
    """
    ss = np.random.SeedSequence(root_ss.entropy, spawn_key=(index, run_index + 1))
    run = model.simulate_run(ss, model.preset.n_volumes, subject)
    run.truth["subject"] = subject["label"]
    run.truth["run"] = run_index + 1 if n_runs > 1 else None
    run.truth["seed"] = {
        "entropy": str(root_ss.entropy),
        "spawn_key": [index, run_index + 1],
    }
    run.truth["preset"] = model.preset.to_dict()
    return run


def _prepare_out_dir(out_dir, overwrite):
    if out_dir.exists() or out_dir.is_symlink():
        if not out_dir.is_dir():
            raise FileExistsError(f"out_dir {out_dir} exists and is not a folder")
        if any(out_dir.iterdir()):
            if not overwrite:
                raise FileExistsError(
                    f"out_dir {out_dir} exists and is not empty; pass overwrite=True "
                    "(--overwrite) to replace it"
                )
            if not (out_dir / "dataset_description.json").is_file():
                raise FileExistsError(
                    f"out_dir {out_dir} is not empty and is not a BIDS dataset (no "
                    "dataset_description.json); refusing to delete it, even with "
                    "overwrite"
                )
    out_dir.parent.mkdir(parents=True, exist_ok=True)


@contextlib.contextmanager
def atomic_dataset_dir(out_dir, overwrite):
    """Write a dataset into a temporary folder renamed to ``out_dir`` at the end.

    Parameters
    ----------
    out_dir : Path
        Must not exist or be empty, unless ``overwrite`` (and it holds a
        ``dataset_description.json``).
    overwrite : bool

    Yields
    ------
    tmp : Path
        Folder to write into; removed if the block raises.
    """
    _prepare_out_dir(out_dir, overwrite)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes 0700; the dataset follows the umask
    try:
        yield tmp
        trash = None
        if out_dir.exists():
            trash = Path(
                tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent)
            )
            out_dir.rename(trash / "old")
        try:
            tmp.rename(out_dir)
        except OSError:
            if trash is not None:
                (trash / "old").rename(out_dir)
            raise
        if trash is not None:
            shutil.rmtree(trash, ignore_errors=True)
    except BaseException:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        raise


def check_positive_int(name, value):
    """Raise a one-line ValueError unless ``value`` is a positive integer."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


def simulate_dataset(
    out_dir,
    preset="noddi",
    *,
    n_subjects=2,
    n_runs=1,
    n_volumes=None,
    random_state=None,
    overwrite=False,
    **overrides,
):
    """Simulate a simultaneous EEG-fMRI BIDS dataset with known ground truth.

    The dataset is written into a temporary folder next to ``out_dir`` and renamed
    at the end, so ``out_dir`` appears only when complete.

    Parameters
    ----------
    out_dir : str or Path
        Dataset root to create. Must not exist or be empty, unless ``overwrite``.
    preset : str or SimulationPreset, default="noddi"
        ``"noddi"``, ``"oddball"``, ``"cnepfl"``, ``"inscanner"`` (raw MR-room
        EEG with gradient and pulse artifacts) or ``"realistic"`` (non-linear
        EEG-BOLD coupling); every preset has BOLD noise like real EPI (pass
        ``**WHITE_NOISE`` for white noise). See :data:`SIMULATION_PRESETS`.
    n_subjects : int, default=2
        Subjects labelled ``01``, ``02``, ...
    n_runs : int, default=1
        Runs per subject; ``run-<n>`` entities are written only when > 1.
    n_volumes : int, optional
        Volumes per run (default: the preset's).
    random_state : None, int, SeedSequence or Generator
        Everything is deterministic given an int. Subject ``s`` draws from
        ``SeedSequence(entropy, spawn_key=(s,))`` and its run ``r`` from
        ``spawn_key=(s, r + 1)``, so adding subjects or runs never changes the
        existing ones.
    overwrite : bool, default=False
        Replace an existing non-empty ``out_dir`` (only if it holds a
        ``dataset_description.json``).
    **overrides
        Any :class:`SimulationPreset` field, e.g. ``n_channels``, ``sfreq``, ``tr``,
        ``bold_shape=(D, H, W)``, ``n_networks``, ``coupling``, ``bold_noise``,
        ``eeg_noise``, ``eeg_lead``, ``trigger``. ``n_channels`` counts the ECG
        channel when the preset has one (noddi/cnepfl keep it for any count, so
        ``n_channels=16`` gives 15 EEG + ECG).

    Returns
    -------
    out_dir : pathlib.Path

    Raises
    ------
    FileExistsError
        ``out_dir`` exists and is not empty (and ``overwrite`` is False), or is a file.
    ValueError, TypeError
        Invalid parameters (one-line message naming the parameter).

    Notes
    -----
    Files written (``<base>`` = ``sub-XX_task-<task>[_run-N]``):

    - ``dataset_description.json``, ``README``, ``participants.tsv/.json``,
      ``task-<task>_bold.json`` (TaskName, RepetitionTime, SliceTiming) and
      ``task-<task>_eeg.json`` (all EEG sidecar keys), inherited by the runs;
    - ``sub-XX/eeg/<base>_eeg.{vhdr,vmrk,eeg}`` (BrainVision, float32 µV; volume
      triggers, slice, heartbeat and stimulus markers in the ``.vmrk``),
      ``<base>_eeg.json`` (RecordingDuration), ``<base>_channels.tsv``, and for task
      presets ``<base>_events.tsv`` (stimuli and volume triggers, onsets in EEG
      seconds);
    - ``sub-XX/func/<base>_bold.nii.gz`` (int16 magnitude, MNI-space affine,
      ``pixdim[4]`` = TR in seconds) and, for task presets, ``<base>_events.tsv``
      (onsets relative to the first volume);
    - ``derivatives/simulation/sub-XX/func/``: ``<base>_desc-noiseless_bold.nii.gz``
      and ``<base>_desc-ceiling_bold.nii.gz`` (the BOLD predicted from what the EEG
      carries; + .json; scaled int16), ``<base>_desc-drives_timeseries.tsv`` (+ .json),
      ``<base>_desc-networks_mask.nii.gz`` (4-D, one map per network, + .json) and
      ``<base>_desc-truth.json`` (volume onsets in EEG seconds and samples,
      coupling, networks with band and sign, seeds, preset);
    - with scanner artifacts (``inscanner``): ``derivatives/simulation/sub-XX/eeg/``
      ``<base>_desc-clean_eeg.{vhdr,vmrk,eeg}`` (+ .json), the EEG before the
      artifacts were added.

    The generative model is described in :mod:`eeg2fmri.simulate.generative`.

    Examples
    --------
    >>> from eeg2fmri.simulate import simulate_dataset
    >>> simulate_dataset("sim", preset="noddi", n_subjects=2, n_volumes=40,
    ...                  n_channels=16, bold_shape=(8, 16, 16),
    ...                  random_state=0)  # doctest: +SKIP
    PosixPath('sim')
    """
    out_dir = Path(out_dir)
    if n_volumes is not None:
        overrides["n_volumes"] = n_volumes
    p = resolve_preset(preset, **overrides)
    check_positive_int("n_subjects", n_subjects)
    check_positive_int("n_runs", n_runs)
    root_ss = root_seed_sequence(random_state)
    _prepare_out_dir(out_dir, overwrite)

    model = GenerativeModel(p)
    with atomic_dataset_dir(out_dir, overwrite) as tmp:
        subjects = []
        for s in range(n_subjects):
            subject = _subject_params(root_ss, s)
            subjects.append(subject)
            for r in range(n_runs):
                run = simulate_subject_run(model, root_ss, s, r, n_runs, subject)
                label = r + 1 if n_runs > 1 else None
                write_run(
                    tmp,
                    run,
                    subject=subject["label"],
                    task=p.task,
                    run_label=label,
                    affine=model.anatomy.affine,
                    tr=p.tr,
                )
                write_network_maps(
                    tmp,
                    model.maps,
                    model.anatomy.affine,
                    subject["label"],
                    p.task,
                    label,
                )
                logger.info("simulated sub-%s run %d", subject["label"], r + 1)
        write_top_level(tmp, p, subjects, model.networks)
    return out_dir
