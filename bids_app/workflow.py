"""The two analysis levels of the BIDS-App: a sequence of library steps.

participant
    select runs (:func:`eeg2fmri.pipeline.select_runs`: the paired runs of every
    participant, and with ``--model`` the EEG-only runs of the selected ones) ->
    pairs of the paired runs (cached, for leave-one-subject-out training only) -> the
    model (``--model``, else trained on every other participant, cached:
    :class:`eeg2fmri.pipeline.ModelCache`) -> for each run of the participant, its
    EEG checked for scanner artifacts and synthesized (every volume it covers) ->
    derivatives (:func:`eeg2fmri.pipeline.write_paired_run` with scores against the
    measured BOLD, the mean-volume baseline and, for a network, the band-power ridge
    trained on the same participants, or
    :func:`eeg2fmri.pipeline.write_eeg_only_run` on the model's grid) -> report.
group
    reads the participant metrics and writes ``group_metrics.tsv`` and
    ``group_report.html``; with ``--save-model`` also trains on all participants and
    writes the model under ``models/``.

Resuming: every file is written atomically and existing files are kept, so a re-run
after an interruption only writes what is missing; leave-one-subject-out models are
cached in the work dir, so they are not trained twice.
"""

import json
import platform
import zlib
from pathlib import Path

import numpy as np

from eeg2fmri._utils.io import atomic_path
from eeg2fmri._utils.logging import logger
from eeg2fmri._version import __version__
from eeg2fmri.exceptions import DataError, Eeg2fmriError, NoMatchingDataError

from .config import UsageError

__all__ = ["run_participants", "run_group", "setup_threads", "select_runs"]


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


def _selection_text(config):
    return "".join(
        f" {flag} {value}"
        for flag, value in (
            ("--session-label", " ".join(config.session_label or ())),
            ("--task-id", config.task_id or ""),
            ("--bids-filter-file", config.bids_filter_file or ""),
        )
        if value
    )


def select_runs(config, with_model=False):
    """The runs of this job (:func:`eeg2fmri.pipeline.select_runs` with the flags).

    Returns
    -------
    selection : RunSelection
    """
    from eeg2fmri.pipeline import select_runs as select

    try:
        return _read_errors(
            select,
            config.bids_dir,
            participant_label=list(config.participant_label or ()) or None,
            session_label=list(config.session_label) if config.session_label else None,
            task=config.task_id,
            eeg_derivatives=config.eeg_derivatives,
            bids_filters=_read_filters(config.bids_filter_file),
            with_model=with_model,
            selection_text=_selection_text(config),
        )
    except (ValueError, TypeError) as err:
        if isinstance(err, Eeg2fmriError):
            raise
        # bad selection values (filters, labels): a usage error, not a crash
        raise UsageError(f"Invalid BIDS selection: {err}.") from None


def feature_params(config, estimator=None):
    """FeatureParams from the model file (``--model``) or from the options (recipe)."""
    from eeg2fmri.features import FeatureParams

    if estimator is not None:
        value = getattr(estimator, "feature_params_", None)
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


def build_pairs(config, runs, params):
    """:func:`eeg2fmri.features.build_dataset` of the paired runs, with the cache."""
    from eeg2fmri.features import build_dataset

    runs = list(runs)
    if config.require_triggers:
        _check_triggers(runs, config.volume_marker)
    return _read_errors(
        build_dataset,
        runs,
        params,
        marker=config.volume_marker,
        work_dir=config.work_dir / "cache",
        eeg_correction=config.eeg_correction,
    )


# ----------------------------------------------------------------------------- model


def check_model_name(config):
    """Refuse an unknown ``--model-name`` (exit 64) and log the model chosen and why."""
    from eeg2fmri.pipeline import check_model_choice

    name, why = config.model_choice
    try:
        check_model_choice(name, config.recipe)
    except ValueError as err:
        raise UsageError(f"--model-name: {err}") from None
    if config.model is None:
        logger.info("Model: %s (%s)", name, why)
    return name


def make_estimator(config, checkpoint_dir=None, frequencies=None):
    """The estimator the options describe (not fitted)."""
    from eeg2fmri.pipeline import make_estimator as make

    return make(
        config.model_choice[0],
        config.recipe,
        frequencies=frequencies,
        batch_size=config.batch_size,
        epochs=config.epochs,
        lr=config.lr,
        device=config.device,
        random_state=config.random_seed,
        verbose=1,
        checkpoint_dir=checkpoint_dir,
    )


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


# ----------------------------------------------------------------------------- runs


def _dataset_links(config):
    links = {"raw": config.bids_dir}
    if config.eeg_derivatives is not None:
        links = {"eeg": config.eeg_derivatives, **links}
    return links


def _checked_eeg(config, run, n_volumes=None, tr=None):
    """The run's EEG, checked (or corrected) for scanner artifacts."""
    from eeg2fmri.bids import load_eeg
    from eeg2fmri.features import checked_eeg
    from eeg2fmri.synthesis import APPLY_PICKS

    raw = _read_errors(load_eeg, run.eeg_path, picks=APPLY_PICKS)
    if tr is None:
        return raw
    raw, _ = checked_eeg(
        run, raw, tr=tr, eeg_correction=config.eeg_correction,
        marker=config.volume_marker, n_volumes=n_volumes,
        work_dir=config.work_dir / "cache",
    )
    return raw


def _synthesize(config, model, run, n_volumes=None, tr=None):
    from eeg2fmri import synthesize_run
    from eeg2fmri.exceptions import ModelFileError
    from eeg2fmri.synthesis import _line_freq

    spec = getattr(model, "eeg_spec_", None)
    check_tr = tr or (None if spec is None else spec.tr)
    raw = _checked_eeg(config, run, n_volumes, check_tr)
    try:
        return _read_errors(
            synthesize_run, model, raw, tr=tr, n_volumes=n_volumes,
            marker=config.volume_marker, max_interpolated=config.max_interpolated,
            label=run.label, line_freq=_line_freq(getattr(run, "eeg_metadata", None)),
        )
    except ValueError as err:
        if isinstance(err, Eeg2fmriError) or config.model is None:
            raise
        raise ModelFileError(
            f"--model {config.model} does not fit the data of {run.label}: "
            f"{str(err).splitlines()[0]}"
        ) from None


def _eeg_correction_sidecar(config, run):
    if config.eeg_correction not in ("gradient", "gradient+pulse"):
        return None
    from eeg2fmri.artifacts.derivatives import read_correction_sidecar

    return read_correction_sidecar(
        config.work_dir / "cache" / "eeg_corrected", run.eeg_path,
        config.eeg_correction,
    )


def _paired_result(config, run, model, info, params, dataset, ridge=None):
    from eeg2fmri.pipeline import measured_bold, write_paired_run

    features = None if dataset is None else next(
        (rf for rf in dataset.runs if rf.label == run.label), None
    )
    if features is not None and tuple(features.volumes.shape[1:]) == tuple(
        model.output_shape_
    ):
        measured, affine = features.volumes, features.affine
    else:
        measured, affine = _read_errors(measured_bold, run, model.output_shape_)
    synthesized = _synthesize(config, model, run, n_volumes=len(measured), tr=run.tr)
    comparison = None
    if ridge is not None:
        comparison = (
            ridge, _synthesize(config, ridge, run, n_volumes=len(measured), tr=run.tr)
        )
    return write_paired_run(
        config.output_dir, run, synthesized, model, measured=measured,
        affine=np.asarray(affine, dtype=float),
        discard_volumes=params.discard_volumes, model_info=info,
        preprocessing={"FeatureParams": params.to_dict()},
        dataset_links=_dataset_links(config),
        eeg_correction=_eeg_correction_sidecar(config, run),
        comparison=comparison,
    )


def _eeg_only_result(config, run, model, info, params):
    from eeg2fmri.pipeline import write_eeg_only_run

    synthesized = _synthesize(config, model, run, tr=config.tr)
    return write_eeg_only_run(
        config.output_dir, run, synthesized, model, model_info=info,
        preprocessing={"FeatureParams": params.to_dict()},
        dataset_links=_dataset_links(config),
    )


# ------------------------------------------------------------------------- levels


def run_participants(config):
    """The participant level (see the module docstring)."""
    from eeg2fmri.bids.derivatives import write_dataset_description
    from eeg2fmri.pipeline import (
        LINEAR_MODELS,
        ModelCache,
        load_trained_model,
        outputs_complete,
    )
    from eeg2fmri.pipeline import make_estimator as make_linear
    from eeg2fmri.reports import ParticipantReport

    model = info = None
    if config.model is not None:
        model, info = _read_errors(load_trained_model, config.model, config.output_dir)
    else:
        check_model_name(config)
    selection = select_runs(config, with_model=model is not None)
    out = config.output_dir
    write_dataset_description(
        out, config.bids_dir,
        dataset_links=(
            {"eeg": config.eeg_derivatives} if config.eeg_derivatives else None
        ),
    )
    space = getattr(getattr(model, "output_space_", None), "label", None)
    todo = []
    for p in selection.participants:
        paired, eeg_only = selection.runs_of(p)
        if outputs_complete(out, p, paired, eeg_only, space):
            logger.info("[sub-%s] outputs complete, skipped (delete them to "
                        "recompute)", p)
        else:
            todo.append(p)
    if not todo:
        return []

    params = feature_params(config, model)
    dataset = groups = None
    if model is None:
        logger.info("Building EEG-BOLD pairs of %d runs (cache: %s)",
                    len(selection.paired), config.work_dir / "cache")
        dataset = build_pairs(config, selection.paired, params)
        groups = np.asarray(dataset.groups).astype(str)
    cache = ModelCache(config.work_dir)
    name = config.model_choice[0]
    # a network is reported beside the band-power ridge of the same participants
    compare = config.ridge_comparison and name not in LINEAR_MODELS
    written = []
    for n, p in enumerate(todo, 1):
        prefix = f"[sub-{p}] ({n}/{len(todo)})"
        paired, eeg_only = selection.runs_of(p)
        logger.info("%s model", prefix)
        if model is None:
            run_model, run_info = cache.trained(
                lambda ckpt: make_estimator(config, ckpt, dataset.frequencies),
                dataset, np.flatnonzero(groups != p), params, name=name,
                cache_name=f"loso_sub-{p}", out_dir=out,
            )
        else:
            run_model, run_info = model, info
        ridge = None
        if model is None and compare:
            logger.info("%s band-power ridge on the same participants (comparison; "
                        "--no-ridge-comparison skips it)", prefix)
            ridge, _ = cache.trained(
                lambda ckpt: make_linear("ridge", frequencies=dataset.frequencies),
                dataset, np.flatnonzero(groups != p), params, name="ridge",
                cache_name=f"loso_sub-{p}", out_dir=out,
            )
        report = ParticipantReport(
            p, out, command=" ".join(config.command), versions=versions(),
            model_info=run_info, history=getattr(run_model, "history_", None),
            config=config.to_dict(),
        )
        for run in paired:
            logger.info("%s synthesizing %s", prefix, run.label)
            report.add_run(_paired_result(config, run, run_model, run_info, params,
                                          dataset, ridge))
        for run in eeg_only:
            logger.info("%s synthesizing %s (EEG only)", prefix, run.label)
            report.add_run(_eeg_only_result(config, run, run_model, run_info, params))
        for run, reason in selection.skipped:
            if run.subject == p:
                report.add_skipped(run.label, reason)
        logger.info("%s report", prefix)
        path = report.save_as_html(out / f"sub-{p}.html")
        logger.info("%s done: %s", prefix, path)
        written.append(path)
    return written


def run_group(config):
    """The group level (see the module docstring)."""
    from eeg2fmri.pipeline import (
        collect_participant_metrics,
        list_eeg_only_runs,
        summarize_group,
    )
    from eeg2fmri.reports import write_group_report

    out = config.output_dir
    model_path = None
    if config.save_model:
        from eeg2fmri.bids.derivatives import write_dataset_description

        write_dataset_description(out, config.bids_dir)
        model_path = _train_group_model(config)
    table, volumes = collect_participant_metrics(out, config.participant_label)
    eeg_only = list_eeg_only_runs(out, config.participant_label)
    if not eeg_only.empty:
        logger.info("[group] %d run(s) synthesized from EEG only (no scores): %s",
                    len(eeg_only), ", ".join(eeg_only["run"]))
    if table.empty:
        if model_path is not None or not eeg_only.empty:
            logger.warning(
                "[group] no participant metrics in %s (runs with measured BOLD): "
                "nothing to summarize", out,
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
    from eeg2fmri.pipeline import save_trained_model

    selection = select_runs(config.replace(participant_label=None))
    params = feature_params(config)
    name = check_model_name(config)
    path = config.output_dir / "models" / f"eeg2fmri_model-{name}"
    weights = path.with_suffix(".safetensors")
    if weights.exists() and path.with_suffix(".json").exists():
        logger.info("[group] model exists, kept: %s", weights)
        return weights
    dataset = build_pairs(config, selection.paired, params)
    participants = sorted({r.subject for r in selection.paired})
    logger.info("[group] training %s on all %d participants (%d pairs)",
                name, len(participants), len(dataset.groups))
    est = make_estimator(
        config, config.work_dir / "checkpoints" / path.name, dataset.frequencies
    )
    est.fit(dataset.X, dataset.y, groups=dataset.groups,
            runs=dataset.provenance["run_label"].to_numpy())
    save_trained_model(est, path, participants=participants, params=params)
    logger.info("[group] saved %s", weights)
    return weights
