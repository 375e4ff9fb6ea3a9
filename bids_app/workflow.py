"""The two analysis levels of the BIDS-App, over the ``eeg2fmri`` Python API.

participant
    For each selected participant: its paired runs -> pairs (cached in the work dir,
    shared between participants) -> a model (``--model``, else trained on every other
    participant: leave-one-subject-out, so each participant is an independent job) ->
    synthesized BOLD for every volume that has an EEG context -> derivatives, metrics
    against the measured BOLD (model and mean-volume baseline), report.
group
    Reads the participant metrics and writes ``group_metrics.tsv`` and
    ``group_report.html``; with ``--save-model`` also trains on all participants and
    writes the model under ``models/``.

Resuming: every file is written atomically and existing files are kept, so a re-run
after an interruption only writes what is missing; LOSO models are cached in the work
dir, so they are not trained twice.
"""

import hashlib
import json
import platform
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from eeg2fmri._utils.io import atomic_path
from eeg2fmri._utils.logging import logger
from eeg2fmri._version import __version__
from eeg2fmri.bids.derivatives import (
    DerivativePath,
    model_provenance,
    write_correlation_map,
    write_dataset_description,
    write_metrics_tsv,
    write_synthesized_run,
)
from eeg2fmri.exceptions import DataError, Eeg2fmriError, NoMatchingDataError

from .config import LINEAR_MODELS, UsageError

__all__ = ["run_participants", "run_group", "setup_threads", "select_runs"]

METRIC_NAMES = ("ssim", "psnr", "temporal_r")


def setup_threads(config):
    """Limit torch threads to ``--omp-nthreads`` (or ``--nprocs``)."""
    n = config.omp_nthreads or config.nprocs
    if config.omp_nthreads and config.nprocs and config.omp_nthreads > config.nprocs:
        logger.warning(
            "--omp-nthreads %d is larger than --nprocs %d", config.omp_nthreads,
            config.nprocs,
        )
    if n:
        import torch

        torch.set_num_threads(int(n))


# ----------------------------------------------------------------------------- inputs


def _read_filters(path):
    if path is None:
        return None
    try:
        filters = json.loads(Path(path).read_text())
    except ValueError as err:
        raise UsageError(
            f"--bids-filter-file {path} is not valid JSON: {err}."
        ) from None
    if not isinstance(filters, dict):
        raise UsageError(
            f"--bids-filter-file {path} must hold a JSON object keyed by input kind "
            f"(e.g. 'bold', 'eeg'), got {type(filters).__name__}."
        )
    return filters


def select_runs(config):
    """Find the paired runs and check the participant selection.

    Returns
    -------
    report : PairingReport
        All paired runs matching the session/task/filter selection (every
        participant: the others are the training set).
    participants : list of str
        The selected participants, in order.

    Raises
    ------
    NoMatchingDataError
        No paired run, or a selected participant has none (the message lists what
        exists).
    """
    from eeg2fmri.bids import find_paired_runs

    kwargs = dict(
        session_label=list(config.session_label) if config.session_label else None,
        task=config.task_id,
        eeg_derivatives=config.eeg_derivatives,
        bids_filters=_read_filters(config.bids_filter_file),
    )
    try:
        report = _read_errors(find_paired_runs, config.bids_dir, **kwargs)
    except (ValueError, TypeError) as err:
        if isinstance(err, Eeg2fmriError):
            raise
        # bad selection values (filters, labels): a usage error, not a crash
        raise UsageError(f"Invalid BIDS selection: {err}.") from None
    available = list(report.participants)
    selection = "".join(
        f" {flag} {value}"
        for flag, value in (
            ("--session-label", " ".join(config.session_label or ())),
            ("--task-id", config.task_id or ""),
            ("--bids-filter-file", config.bids_filter_file or ""),
        )
        if value
    )
    if not available:
        why = ""
        unpaired = list(getattr(report, "unpaired", []) or [])
        if unpaired:
            first = unpaired[0]
            why = f"; e.g. {getattr(first, 'reason', first)}"
        raise NoMatchingDataError(
            f"No run with both EEG and BOLD found in {config.bids_dir}"
            f"{' for' + selection if selection else ''}{why}."
        )
    selected = list(config.participant_label or available)
    missing = [p for p in selected if p not in available]
    if missing:
        on_disk = sorted(
            d.name[4:] for d in config.bids_dir.glob("sub-*") if d.is_dir()
        )
        names = ", ".join(f"sub-{p}" for p in missing)
        without = [p for p in missing if p in on_disk]
        what = (
            "has no paired EEG/BOLD run" if len(without) == len(missing)
            else "not found"
        )
        raise NoMatchingDataError(
            f"Participant(s) {names} {what} in {config.bids_dir}{selection}; "
            f"participants with paired runs: "
            f"{', '.join('sub-' + p for p in available)}."
        )
    return report, selected


def _read_errors(func, *args, **kwargs):
    """Call ``func``; unreadable files become :class:`DataError` (one line)."""
    try:
        from nibabel.filebasedimages import ImageFileError
    except ImportError:  # pragma: no cover
        ImageFileError = OSError
    try:
        return func(*args, **kwargs)
    except Eeg2fmriError:
        raise
    except (ImageFileError, EOFError, zlib.error) as err:
        raise DataError(f"Could not read an input file: {err}.") from None


def feature_params(config, estimator=None):
    """FeatureParams from the model file (``--model``) or from the options (recipe)."""
    from eeg2fmri.features import FeatureParams

    if estimator is not None:
        for attr in ("feature_params_", "feature_params", "params_"):
            value = getattr(estimator, attr, None)
            if isinstance(value, FeatureParams):
                return value
            if isinstance(value, dict) and value:
                try:
                    return FeatureParams.from_dict(value)
                except (TypeError, ValueError):
                    pass
    make = FeatureParams.official if config.recipe == "official" else FeatureParams
    return make(n_context=config.n_context, discard_volumes=config.discard_volumes)


def _check_triggers(runs, marker):
    """``--require-triggers``: every run's EEG must carry volume markers."""
    from eeg2fmri.bids import find_volume_onsets, load_eeg
    from eeg2fmri.exceptions import AlignmentError

    for run in runs:
        raw = _read_errors(load_eeg, run.eeg_path)
        try:
            find_volume_onsets(raw, tr=run.tr, marker=marker, fallback=False,
                               run_label=run.label)
        except AlignmentError as err:
            raise AlignmentError(
                f"{err} (--require-triggers: name the marker with --volume-marker, or "
                "drop --require-triggers to assume EEG sample 0 is the first volume)"
            ) from None


def build_pairs(config, runs, params, target_shape=None):
    """:func:`eeg2fmri.features.build_dataset` with the work-dir cache.

    ``target_shape`` (D, H, W): resample the BOLD to a model's grid when it differs
    from the first run's (a ``--model`` trained on another grid).
    """
    from eeg2fmri.features import build_dataset

    runs = list(runs)
    if config.require_triggers:
        _check_triggers(runs, config.volume_marker)
    if target_shape is not None and runs:
        import nibabel as nib

        try:
            shape = nib.load(runs[0].bold_path).shape
            native = (shape[2], shape[0], shape[1])
        except Exception:  # build_dataset reports unreadable files
            native = None
        if native == tuple(target_shape):
            target_shape = None
        elif native is not None:
            logger.info("Resampling BOLD %s to the model grid %s", native,
                        tuple(target_shape))
    return _read_errors(
        build_dataset,
        runs,
        params,
        marker=config.volume_marker,
        target_shape=target_shape,
        work_dir=config.work_dir / "cache",
        eeg_correction=config.eeg_correction,
    )


# ----------------------------------------------------------------------------- model


def make_estimator(config, checkpoint_dir=None, frequencies=None):
    """The estimator the options describe (not fitted).

    A network of the registry in a :class:`~eeg2fmri.Spec2VolEstimator`
    (:meth:`~eeg2fmri.Spec2VolEstimator.official` with ``--recipe
    official``), or a linear baseline of :mod:`eeg2fmri.estimators` (``--model-name
    ridge`` / ``reduced-rank-ridge``, which needs the bins' ``frequencies``).
    """
    from eeg2fmri.estimators import Spec2VolEstimator

    name, _ = config.model_choice
    if name in LINEAR_MODELS:
        from eeg2fmri.estimators import BandPowerRidge, ReducedRankRidge

        cls = BandPowerRidge if name == "ridge" else ReducedRankRidge
        return cls(frequencies=frequencies)
    overrides = dict(
        model=name,
        batch_size=config.batch_size,
        device=config.device,
        random_state=config.random_seed,
        verbose=1,
        checkpoint_dir=checkpoint_dir,
    )
    if config.epochs is not None:
        overrides["epochs"] = config.epochs
    if config.lr is not None:
        overrides["lr"] = config.lr
    if config.recipe == "official":
        return Spec2VolEstimator.official(**overrides)
    return Spec2VolEstimator(**overrides)


def check_model_name(config):
    """Refuse an unknown ``--model-name`` (exit 64) and log the model chosen and why."""
    from eeg2fmri.models import list_models

    name, why = config.model_choice
    known = [*list_models(), *LINEAR_MODELS]
    if name not in known:
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        raise UsageError(
            f"--model-name {name!r} is not a model; expected one of "
            f"{', '.join(known)}{hint}"
        )
    if config.model is None:
        logger.info("Model: %s (%s)", name, why)
    return name


def _model_files(path):
    """(weights, json) of a saved model given as a folder, .safetensors or .json."""
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        return path.with_suffix(".safetensors"), path.with_suffix(".json")
    return path / "weights.safetensors", path / "estimator.json"


def _load_estimator(path):
    from eeg2fmri import load_model

    return load_model(path)


def _save_estimator(est, params, path, participants=()):
    """Save with its feature parameters (weights, then the JSON: both atomic).

    The JSON also gets an ``"eeg2fmri_app"`` entry with the training participants
    (``Spec2VolEstimator.load`` ignores it; ``--model`` reads it back).
    """
    from eeg2fmri._utils.io import write_json_atomic

    est.feature_params_ = params
    weights = Path(path).with_suffix(".safetensors")
    json_path = Path(est.save(weights))
    desc = json.loads(json_path.read_text())
    if isinstance(desc.get("params"), dict) and desc["params"].get("checkpoint_dir"):
        # a folder of the work dir of this machine: meaningless to whoever loads it
        desc["params"]["checkpoint_dir"] = None
    desc["eeg2fmri_app"] = {
        "training_participants": ["sub-" + str(p) for p in participants],
    }
    write_json_atomic(json_path, desc)
    return weights


def _training_participants(model_path):
    json_path = _model_files(model_path)[1]
    try:
        desc = json.loads(json_path.read_text())
    except (OSError, ValueError):
        return []
    app = desc.get("eeg2fmri_app") or {}
    return list(app.get("training_participants") or [])


def _training_key(config, params, participants):
    blob = json.dumps(
        {
            "model": config.model_choice[0],
            "recipe": config.recipe,
            "batch_size": config.batch_size,
            "seed": config.random_seed,
            "features": params.to_dict(),
            # every estimator parameter (defaults included), so a changed default
            # never reuses a model trained under the old one
            "estimator": make_estimator(config).get_params(deep=False),
            "participants": sorted(participants),
            "version": __version__,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def obtain_model(config, dataset, train_idx, params, cache_name):
    """The model for one participant: ``--model`` or trained (cached) on ``train_idx``.

    Returns
    -------
    estimator : Spec2VolEstimator
    info : dict
        ``Name``, ``File`` (file name), ``SHA256``, ``URI`` (a model inside the
        output dataset), ``TrainingParticipants``, ``Scheme``.
    """
    if config.model is not None:
        est = _load_estimator(config.model)
        weights = _model_files(config.model)[0]
        if not weights.exists():
            weights = Path(config.model)
        return est, {
            "Name": _model_name(est),
            **model_provenance(weights, config.output_dir),
            "TrainingParticipants": _training_participants(config.model),
            "Scheme": "given (--model)",
        }
    train_groups = sorted({str(g) for g in np.asarray(dataset.groups)[train_idx]})
    if not len(train_idx):
        raise NoMatchingDataError(
            "Leave-one-subject-out training needs paired runs of at least one other "
            "participant; none found (give a trained model with --model)."
        )
    key = _training_key(config, params, train_groups)
    name = config.model_choice[0]
    path = config.work_dir / "models" / f"{cache_name}_{name}_{key}"
    weights = path.with_suffix(".safetensors")
    if weights.exists() and path.with_suffix(".json").exists():
        logger.info("Loading the cached model %s", weights)
        est = _load_estimator(weights)
    else:
        train = dataset.subset(train_idx)
        est = make_estimator(
            config, config.work_dir / "checkpoints" / path.name, dataset.frequencies
        )
        logger.info(
            "Training %s on %d pairs of %s%s", name, len(train_idx),
            ", ".join("sub-" + g for g in train_groups),
            f" ({est.epochs} epochs)" if hasattr(est, "epochs") else "",
        )
        est.fit(train.X, train.y, groups=train.groups,
                runs=train.provenance["run_label"].to_numpy())
        _save_estimator(est, params, path, train_groups)
    return est, {
        "Name": name,
        **model_provenance(weights, config.output_dir),
        "TrainingParticipants": ["sub-" + g for g in train_groups],
        "Scheme": "leave-one-subject-out",
    }


def _model_name(est, default=None):
    for attr in ("model", "model_name"):
        value = getattr(est, attr, None)
        if isinstance(value, str):
            return value
    return default or type(est).__name__


def _baseline(dataset, train_idx, target_scaling="zscore"):
    from eeg2fmri.estimators import MeanVolumeRegressor

    if not len(train_idx):
        return None
    train = dataset.subset(train_idx)
    return MeanVolumeRegressor(target_scaling=target_scaling).fit(
        train.X, train.y, groups=train.groups,
        runs=train.provenance["run_label"].to_numpy(),
    )


# ----------------------------------------------------------------------------- outputs


def _brain_mask(mean_volume):
    """A brain mask (D, H, W) of the measured mean volume."""
    mean_volume = np.asarray(mean_volume, dtype=np.float64)
    finite = mean_volume[np.isfinite(mean_volume)]
    if finite.size == 0 or np.ptp(finite) == 0:
        return np.ones(mean_volume.shape, dtype=bool)
    lo, hi = np.percentile(finite, (2, 98))
    mask = mean_volume > lo + 0.2 * (hi - lo)
    return mask if mask.any() else np.ones(mean_volume.shape, dtype=bool)


def _expected_files(out_dir, run):
    bold = DerivativePath.from_run(out_dir, run)
    metrics = bold.update(suffix="metrics", extension=".tsv")
    statmap = bold.update(stat="r", suffix="statmap")
    return {
        "bold": bold,
        "bold_json": bold.update(extension=".json"),
        "metrics": metrics,
        "metrics_json": metrics.update(extension=".json"),
        "statmap": statmap,
        "statmap_json": statmap.update(extension=".json"),
    }


def participant_done(out_dir, participant, runs):
    """True when every output of ``participant`` (and its report) exists."""
    if not (Path(out_dir) / f"sub-{participant}.html").exists():
        return False
    return all(
        p.fpath.exists() for run in runs for p in _expected_files(out_dir, run).values()
    )


def _intensity_units(est):
    from eeg2fmri.estimators import prediction_units

    return prediction_units(getattr(est, "target_scaling", "volume"))


def _process_run(config, run, est, baseline, dataset, idx, model_info, params):
    """Synthesize one run, write its derivatives, return the data for the report."""
    from eeg2fmri.metrics import (
        mean_temporal_correlation,
        psnr_per_volume,
        ssim_per_volume,
        summarize_correlation,
        temporal_correlation,
    )
    from eeg2fmri.reports import RunResult

    out = config.output_dir
    prov = dataset.provenance.iloc[idx]
    X = dataset.X[idx]
    y = np.asarray(dataset.y[idx], dtype=np.float32)
    try:
        pred = np.asarray(est.predict(X), dtype=np.float32)
    except ValueError as err:
        if config.model is None:
            raise
        from eeg2fmri.exceptions import ModelFileError

        raise ModelFileError(
            f"--model {config.model} does not fit the data of {run.label}: "
            f"{str(err).splitlines()[0]}"
        ) from None
    written = pred
    base = base_corr = None
    if baseline is not None:
        base_pred = baseline.predict(X)
        _, base = _metric_inputs(baseline, y, base_pred)
        _, base_corr = _correlation_inputs(baseline, y, base_pred)
    y_corr, pred_corr = _correlation_inputs(est, y, pred)
    y, pred = _metric_inputs(est, y, pred)
    volume_indices = prov["volume_index"].to_numpy(dtype=int)
    tr = float(getattr(run, "tr", None) or dataset.tr)
    # the grid of this run (the dataset's affine is its first run's)
    features = next((rf for rf in dataset.runs if rf.label == run.label), None)
    affine = np.asarray(getattr(features, "affine", dataset.affine), dtype=float)
    files = _expected_files(out, run)

    write_synthesized_run(
        out, run, written, affine, tr, volume_indices,
        dataset_links=_dataset_links(config),
        model=model_info,
        preprocessing={"FeatureParams": params.to_dict()},
        intensity_units=_intensity_units(est),
    )
    table = pd.DataFrame({
        "volume_index": volume_indices,
        "onset": volume_indices * tr,
        "ssim": ssim_per_volume(y, pred),
        "psnr": psnr_per_volume(y, pred),
    })
    if base is not None:
        table["ssim_baseline"] = ssim_per_volume(y, base)
        table["psnr_baseline"] = psnr_per_volume(y, base)
    mask = _brain_mask(y.mean(axis=0))
    r_map = temporal_correlation(y_corr, pred_corr, mask=mask)
    r_summary = summarize_correlation(r_map)
    summary = {
        "n_volumes": int(len(table)),
        "ssim": float(table["ssim"].mean()),
        "psnr": float(table["psnr"].mean()),
        "temporal_r": r_summary["mean"],
        "temporal_r_fisher": r_summary["mean_fisher_z"],
        "n_voxels_mask": r_summary["n_voxels"],
    }
    if base is not None:
        # a constant baseline scores r = 0 in every voxel (not NaN)
        summary.update(
            ssim_baseline=float(table["ssim_baseline"].mean()),
            psnr_baseline=float(table["psnr_baseline"].mean()),
            temporal_r_baseline=mean_temporal_correlation(y_corr, base_corr, mask),
        )
    write_metrics_tsv(files["metrics"].fpath, table, summary=summary)
    write_correlation_map(
        files["statmap"].fpath, r_map, affine, mask=mask,
        sidecar={"Sources": [f"bids::{files['bold'].relpath.as_posix()}"],
                 "MeanR": r_summary["mean"], "NumberOfVoxels": r_summary["n_voxels"]},
    )
    eeg_correction = None
    if config.eeg_correction in ("gradient", "gradient+pulse"):
        from eeg2fmri.artifacts.derivatives import read_correction_sidecar

        eeg_correction = read_correction_sidecar(
            config.work_dir / "cache" / "eeg_corrected", run.eeg_path,
            config.eeg_correction,
        )
    return RunResult(
        label=files["bold"].stem.replace("_desc-eeg2fmri", ""),
        measured=y,
        synthesized=pred,
        baseline=base,
        affine=affine,
        tr=tr,
        volume_indices=volume_indices,
        metrics=table,
        r_map=np.where(mask, np.nan_to_num(r_map), 0.0),
        mask=mask,
        summary=summary,
        files={k: v.relpath.as_posix() for k, v in files.items()},
        eeg_correction=eeg_correction,
    )


def _metric_inputs(est, y_true, y_pred, kind="metric"):
    """Measured and predicted volumes in the units of a score (float32).

    ``kind='metric'`` (SSIM, PSNR): the paper's units, each volume min-max scaled to
    [0, 1]; ``kind='correlation'``: the units of the predictions (BOLD intensity, or
    per-volume units for the official target scaling).
    """
    from eeg2fmri.metrics import comparable_volumes

    y_true, y_pred = comparable_volumes(est, y_true, y_pred, kind)
    return np.asarray(y_true, np.float32), np.asarray(y_pred, np.float32)


def _correlation_inputs(est, y_true, y_pred):
    return _metric_inputs(est, y_true, y_pred, kind="correlation")


def _dataset_links(config):
    links = {"raw": config.bids_dir}
    if config.eeg_derivatives is not None:
        links = {"eeg": config.eeg_derivatives, **links}
    return links


def versions():
    """Versions of the software that matters for the outputs."""
    import importlib.metadata as md

    out = {"eeg2fmri": __version__, "python": platform.python_version()}
    for name in ("torch", "numpy", "scipy", "mne", "nibabel", "nilearn",
                 "scikit-learn", "pandas"):
        try:
            out[name] = md.version(name)
        except md.PackageNotFoundError:
            pass
    return out


def run_participants(config):
    """The participant level (see the module docstring)."""
    from eeg2fmri.reports import ParticipantReport

    report_runs, selected = select_runs(config)
    out = config.output_dir
    write_dataset_description(
        out, config.bids_dir,
        dataset_links=(
            {"eeg": config.eeg_derivatives} if config.eeg_derivatives else None
        ),
    )
    runs_by_participant = {
        p: [r for r in report_runs.runs if r.subject == p] for p in selected
    }
    todo = [p for p in selected if not participant_done(out, p, runs_by_participant[p])]
    for p in selected:
        if p not in todo:
            logger.info("[sub-%s] outputs complete, skipped (delete them to recompute)",
                        p)
    if not todo:
        return []

    est = None
    if config.model is not None:
        est = _load_estimator(config.model)
    else:
        check_model_name(config)
    params = feature_params(config, est)
    logger.info("Building EEG-BOLD pairs of %d runs (cache: %s)",
                len(report_runs.runs), config.work_dir / "cache")
    target_shape = getattr(est, "output_shape_", None) if est is not None else None
    dataset = build_pairs(config, report_runs.runs, params, target_shape)
    groups = np.asarray(dataset.groups).astype(str)
    labels = dataset.provenance["run_label"].to_numpy()

    written = []
    for n, p in enumerate(todo, 1):
        prefix = f"[sub-{p}] ({n}/{len(todo)})"
        test_idx = np.flatnonzero(groups == p)
        if not len(test_idx):
            raise NoMatchingDataError(
                f"sub-{p}: no volume has a full EEG context (n_context="
                f"{params.n_context}, discard_volumes={params.discard_volumes})."
            )
        train_idx = np.flatnonzero(groups != p)
        logger.info("%s model", prefix)
        model, info = obtain_model(config, dataset, train_idx, params, f"loso_sub-{p}")
        baseline = _baseline(
            dataset, train_idx, getattr(model, "target_scaling", "zscore")
        )
        report = ParticipantReport(
            p, out, command=" ".join(config.command), versions=versions(),
            model_info=info, history=getattr(model, "history_", None),
            config=config.to_dict(),
        )
        for run in runs_by_participant[p]:
            idx = test_idx[labels[test_idx] == run.label]
            if not len(idx):
                logger.warning("%s %s: no volume with a full EEG context, skipped",
                               prefix, run.label)
                continue
            logger.info("%s synthesizing %s (%d volumes)", prefix, run.label, len(idx))
            result = _process_run(config, run, model, baseline, dataset, idx, info,
                                  params)
            report.add_run(result)
        logger.info("%s report", prefix)
        path = report.save_as_html(out / f"sub-{p}.html")
        logger.info("%s done: %s", prefix, path)
        written.append(path)
    return written


# ----------------------------------------------------------------------------- group


def collect_participant_metrics(out_dir, participants=None):
    """Per-participant means of the metrics written by the participant level.

    Returns
    -------
    table : pandas.DataFrame
        One row per participant: ``participant_id``, ``n_runs``, ``n_volumes`` and the
        mean of ``ssim``, ``psnr``, ``temporal_r`` and their ``*_baseline``.
    volumes : pandas.DataFrame
        Every per-volume row with its ``participant_id`` and ``run``.
    """
    out_dir = Path(out_dir)
    rows, frames = [], []
    files = sorted(out_dir.glob("sub-*/**/func/*_desc-eeg2fmri_metrics.tsv"))
    by_participant = {}
    for tsv in files:
        participant = tsv.name.split("_", 1)[0]
        if participants and participant[4:] not in participants:
            continue
        by_participant.setdefault(participant, []).append(tsv)
    for participant, tsvs in sorted(by_participant.items()):
        run_frames, r_model, r_base = [], [], []
        for tsv in tsvs:
            df = pd.read_csv(tsv, sep="\t", na_values="n/a")
            df.insert(0, "run", tsv.name.replace("_desc-eeg2fmri_metrics.tsv", ""))
            df.insert(0, "participant_id", participant)
            run_frames.append(df)
            meta_path = tsv.with_suffix(".json")
            summary = {}
            if meta_path.exists():
                summary = json.loads(meta_path.read_text()).get("Summary", {}) or {}
            r_model.append(summary.get("temporal_r"))
            r_base.append(summary.get("temporal_r_baseline"))
        df = pd.concat(run_frames, ignore_index=True)
        frames.append(df)
        row = {
            "participant_id": participant,
            "n_runs": len(tsvs),
            "n_volumes": len(df),
        }
        for name in ("ssim", "psnr"):
            row[name] = df[name].mean() if name in df else np.nan
            key = f"{name}_baseline"
            row[key] = df[key].mean() if key in df else np.nan
        row["temporal_r"] = _nanmean(r_model)
        row["temporal_r_baseline"] = _nanmean(r_base)
        rows.append(row)
    columns = ["participant_id", "n_runs", "n_volumes", "ssim", "psnr", "temporal_r",
               "ssim_baseline", "psnr_baseline", "temporal_r_baseline"]
    table = pd.DataFrame(rows, columns=columns)
    volumes = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return table, volumes


def _nanmean(values):
    values = np.array([np.nan if v is None else v for v in values], dtype=float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else np.nan


def summarize_group(table):
    """Append ``mean`` and ``std`` rows (across participants, ddof 1) to ``table``."""
    numeric = [c for c in table.columns if c not in ("participant_id",)]
    mean = {"participant_id": "mean", **table[numeric].mean(skipna=True).to_dict()}
    std = {"participant_id": "std", **table[numeric].std(skipna=True, ddof=1).to_dict()}
    return pd.concat([table, pd.DataFrame([mean, std])], ignore_index=True)


def run_group(config):
    """The group level (see the module docstring)."""
    from eeg2fmri.reports import write_group_report

    out = config.output_dir
    model_path = None
    if config.save_model:
        write_dataset_description(out, config.bids_dir)
        model_path = _train_group_model(config)
    table, volumes = collect_participant_metrics(out, config.participant_label)
    if table.empty:
        if model_path is not None:
            logger.warning(
                "[group] no participant outputs in %s yet: only the model was "
                "written (run the participant level for metrics and reports)", out
            )
            return model_path
        raise NoMatchingDataError(
            f"No participant outputs (*_desc-eeg2fmri_metrics.tsv) in {out}; run the "
            "participant level first."
        )
    logger.info("[group] %d participants", len(table))
    full = summarize_group(table)
    tsv = out / "group_metrics.tsv"
    with atomic_path(tsv) as tmp:
        full.to_csv(tmp, sep="\t", index=False, na_rep="n/a", float_format="%.6g")
    path = write_group_report(
        out / "group_report.html", table, volumes, command=" ".join(config.command),
        versions=versions(), model_path=model_path,
    )
    logger.info("[group] wrote %s and %s", tsv, path)
    return tsv


def _train_group_model(config):
    report_runs, participants = select_runs(config.replace(participant_label=None))
    params = feature_params(config)
    name = check_model_name(config)
    path = config.output_dir / "models" / f"eeg2fmri_model-{name}"
    weights = path.with_suffix(".safetensors")
    if weights.exists() and path.with_suffix(".json").exists():
        logger.info("[group] model exists, kept: %s", weights)
        return weights
    dataset = build_pairs(config, report_runs.runs, params)
    logger.info("[group] training %s on all %d participants (%d pairs)",
                name, len(participants), len(dataset.groups))
    est = make_estimator(
        config, config.work_dir / "checkpoints" / path.name, dataset.frequencies
    )
    est.fit(dataset.X, dataset.y, groups=dataset.groups,
            runs=dataset.provenance["run_label"].to_numpy())
    _save_estimator(est, params, path, participants)
    logger.info("[group] saved %s", weights)
    return weights
