"""The outputs of one synthesized run: derivatives, scores and what the report shows.

- a run with measured BOLD (:func:`write_paired_run`): the synthesized image on the
  run's grid, per-volume SSIM/PSNR of the model and of the mean-volume baseline, a
  voxel-wise temporal-correlation map, and the run-level summary the group level
  reads; frames before the magnetisation is steady (``discard_volumes``) or whose EEG
  context is incomplete are synthesized and written but not scored;
- a run with EEG only (:func:`write_eeg_only_run`): the synthesized image on the
  model's grid (``space-<label>``) with the model's reference volume and brain mask;
  there is nothing to score it against.

Both return the :class:`~eeg2fmri.reports.RunResult` a participant report shows.
"""

import numpy as np
import pandas as pd

from .._utils.logging import logger
from ..bids.derivatives import (
    DerivativePath,
    write_correlation_map,
    write_metrics_tsv,
    write_space_reference,
    write_synthesized_run,
)
from ..metrics import (
    comparable_volumes,
    mean_temporal_correlation,
    psnr_per_volume,
    ssim_per_volume,
    summarize_correlation,
    temporal_correlation,
)
from ..spaces import brain_mask
from .models import baseline_volume

__all__ = [
    "measured_bold",
    "expected_outputs",
    "outputs_complete",
    "write_paired_run",
    "write_eeg_only_run",
]


def measured_bold(run, target_shape=None):
    """The measured BOLD of a paired run, on ``target_shape`` when it differs.

    Parameters
    ----------
    run : PairedRun
    target_shape : tuple of 3 ints, optional
        ``(D, H, W)`` of the model's grid; the run's volumes are resampled (DCT
        low-pass, the paper's CN-EPFL choice) over the same field of view.

    Returns
    -------
    volumes : ndarray of float32, shape (n_volumes, D, H, W)
    affine : ndarray of shape (4, 4)
        The grid of ``volumes``.
    """
    from ..bids import load_bold
    from ..features import resample_volumes

    bold = load_bold(run.bold_path, tr=run.tr)
    volumes = np.asarray(bold.volumes, dtype=np.float32)
    affine = np.asarray(bold.affine, dtype=float)
    if target_shape is not None and tuple(target_shape) != volumes.shape[1:]:
        logger.info("Resampling BOLD %s to the model grid %s", volumes.shape[1:],
                    tuple(target_shape))
        volumes, affine = resample_volumes(volumes, affine, tuple(target_shape), "dct")
    return volumes, affine


def expected_outputs(out_dir, run, space=None):
    """The files of one run's outputs (dict of name -> DerivativePath).

    ``space`` given: an EEG-only run (image, sidecar, reference volume, mask); else a
    paired run (image, sidecar, metrics, correlation map).
    """
    bold = DerivativePath.from_run(out_dir, run, space=space)
    files = {"bold": bold, "bold_json": bold.update(extension=".json")}
    if space is not None:
        ref = bold.update(desc=None, suffix="boldref")
        mask = bold.update(desc="brain", suffix="mask")
        files.update(boldref=ref, mask=mask, mask_json=mask.update(extension=".json"))
        return files
    metrics = bold.update(suffix="metrics", extension=".tsv")
    statmap = bold.update(stat="r", suffix="statmap")
    files.update(
        metrics=metrics,
        metrics_json=metrics.update(extension=".json"),
        statmap=statmap,
        statmap_json=statmap.update(extension=".json"),
    )
    return files


def outputs_complete(out_dir, participant, paired, eeg_only, space=None):
    """Whether every output of a participant (and its report) exists (bool)."""
    from pathlib import Path

    if not (Path(out_dir) / f"sub-{participant}.html").exists():
        return False
    files = [p for run in paired for p in expected_outputs(out_dir, run).values()]
    if eeg_only:
        if space is None:
            return False
        files += [p for run in eeg_only
                  for p in expected_outputs(out_dir, run, space).values()]
    return all(p.fpath.exists() for p in files)


def _report_label(path):
    return path.stem.replace("_desc-eeg2fmri", "")


def _scores(estimator, measured, synthesized, baseline, scored, comparison=None):
    """Per-volume table, run summary, r map and the volumes in score units.

    ``temporal_r`` is the mean voxel-wise r over the brain, voxels where a
    prediction is constant counting as 0 (the mean-volume baseline scores 0);
    ``temporal_r_signal`` the same in the model's signal voxels
    (:func:`~eeg2fmri.estimators.signal_voxels_of`, chosen on the training
    participants), where the EEG predicts the BOLD; ``comparison`` = (fitted
    estimator, its synthesized volumes) adds ``*_ridge`` scores of the band-power
    ridge trained on the same participants.
    """
    from ..estimators import signal_voxels_of

    y_metric, pred_metric = comparable_volumes(estimator, measured, synthesized,
                                               "metric")
    y_corr, pred_corr = comparable_volumes(estimator, measured, synthesized)
    table = pd.DataFrame({
        "ssim": ssim_per_volume(y_metric, pred_metric),
        "psnr": psnr_per_volume(y_metric, pred_metric),
    })
    base_metric = None
    if baseline is not None:
        base = np.broadcast_to(baseline, measured.shape)
        _, base_metric = comparable_volumes(estimator, measured, base, "metric")
        table["ssim_baseline"] = ssim_per_volume(y_metric, base_metric)
        table["psnr_baseline"] = psnr_per_volume(y_metric, base_metric)
    mask = brain_mask(y_metric[scored].mean(axis=0))
    signal = signal_voxels_of(estimator)
    if signal is not None and signal.shape == mask.shape:
        signal = signal & mask
    else:
        signal = None
    r_map = temporal_correlation(y_corr[scored], pred_corr[scored], mask=mask)
    r_summary = summarize_correlation(r_map)
    kept = table[scored]

    def mean_r(pred, where):
        if where is None or not where.any():
            return None
        return mean_temporal_correlation(y_corr[scored], pred[scored], where)

    summary = {
        "n_volumes": int(scored.sum()),
        "n_frames": int(len(table)),
        "ssim": float(kept["ssim"].mean()),
        "psnr": float(kept["psnr"].mean()),
        "temporal_r": mean_r(pred_corr, mask),
        "temporal_r_fisher": r_summary["mean_fisher_z"],
        "n_voxels_mask": r_summary["n_voxels"],
        "temporal_r_signal": mean_r(pred_corr, signal),
        "n_voxels_signal": 0 if signal is None else int(signal.sum()),
    }
    if baseline is not None:
        # a constant baseline scores r = 0 in every voxel (not NaN)
        base_corr = np.broadcast_to(
            comparable_volumes(estimator, measured[:1], baseline[None])[1][0],
            y_corr.shape,
        )
        summary.update(
            ssim_baseline=float(kept["ssim_baseline"].mean()),
            psnr_baseline=float(kept["psnr_baseline"].mean()),
            temporal_r_baseline=mean_r(base_corr, mask),
            temporal_r_signal_baseline=mean_r(base_corr, signal),
        )
    if comparison is not None:
        other, volumes = comparison
        _, other_corr = comparable_volumes(other, measured, volumes)
        summary.update(
            temporal_r_ridge=mean_r(other_corr, mask),
            temporal_r_signal_ridge=mean_r(other_corr, signal),
        )
    return table, summary, r_map, mask, (y_metric, pred_metric, base_metric)


def write_paired_run(out_dir, run, synthesized, estimator, *, measured, affine,
                     discard_volumes, model_info=None, preprocessing=None,
                     dataset_links=None, eeg_correction=None, comparison=None):
    """Write and score one run that has measured BOLD.

    Parameters
    ----------
    out_dir : str or Path
        Derivative dataset root.
    run : PairedRun
    synthesized : SynthesizedRun
        :func:`eeg2fmri.synthesize_run` of the run's EEG (one frame per volume).
    estimator : fitted estimator
    measured : ndarray of shape (n_volumes, D, H, W)
        The run's BOLD on the model's grid (:func:`measured_bold`).
    affine : ndarray of shape (4, 4)
        The grid of ``measured``.
    discard_volumes : int
        First volumes left out of the scores (not steady state).
    model_info, preprocessing, dataset_links : dict, optional
        Sidecar provenance (see :func:`eeg2fmri.bids.write_synthesized_run`).
    eeg_correction : dict, optional
        Sidecar of the corrected EEG, for the report.
    comparison : (estimator, SynthesizedRun), optional
        The band-power ridge trained on the same participants and its synthesis
        of the run: its temporal r goes beside the model's in the summary
        (``temporal_r_ridge``, ``temporal_r_signal_ridge``).

    Returns
    -------
    result : RunResult
    """
    from ..estimators import prediction_units
    from ..reports import RunResult

    n = min(len(measured), synthesized.n_frames)
    if n < synthesized.n_frames or n < len(measured):
        logger.warning(
            "%s: %d synthesized frames for %d measured volumes; scoring the first %d",
            run.label, synthesized.n_frames, len(measured), n,
        )
    measured = np.asarray(measured[:n], dtype=np.float32)
    pred = np.asarray(synthesized.volumes[:n], dtype=np.float32)
    indices = np.arange(n)
    scored = synthesized.context_complete[:n] & (indices >= int(discard_volumes))
    if not scored.any():
        scored = synthesized.context_complete[:n].copy()
    files = expected_outputs(out_dir, run)
    extra = synthesized.sidecar()
    extra["ScoredVolumes"] = "volumes >= discard_volumes whose EEG context is complete"
    write_synthesized_run(
        out_dir, run, pred, affine, synthesized.tr, indices,
        dataset_links=dataset_links, model=model_info, preprocessing=preprocessing,
        intensity_units=prediction_units(getattr(estimator, "target_scaling", None)),
        extra=extra,
    )
    baseline = baseline_volume(estimator)
    if baseline is not None and baseline.shape != measured.shape[1:]:
        baseline = None
    if comparison is not None:
        other, other_run = comparison
        comparison = (other, np.asarray(other_run.volumes[:n], dtype=np.float32))
    table, summary, r_map, mask, units = _scores(
        estimator, measured, pred, baseline, scored, comparison
    )
    table.insert(0, "scored", scored.astype(int))
    table.insert(0, "context_complete", synthesized.context_complete[:n].astype(int))
    table.insert(0, "onset", indices * synthesized.tr)
    table.insert(0, "volume_index", indices)
    write_metrics_tsv(files["metrics"].fpath, table, summary=summary)
    write_correlation_map(
        files["statmap"].fpath, r_map, affine, mask=mask,
        sidecar={"Sources": [f"bids::{files['bold'].relpath.as_posix()}"],
                 "MeanR": summary["temporal_r"],
                 "NumberOfVoxels": summary["n_voxels_mask"]},
    )
    y_metric, pred_metric, base_metric = units
    return RunResult(
        label=_report_label(files["bold"]),
        measured=y_metric[scored],
        synthesized=pred_metric[scored],
        baseline=None if base_metric is None else base_metric[scored],
        affine=affine,
        tr=synthesized.tr,
        volume_indices=indices[scored],
        metrics=table[scored].reset_index(drop=True),
        r_map=np.where(mask, np.nan_to_num(r_map), 0.0),
        mask=mask,
        summary=summary,
        files={k: v.relpath.as_posix() for k, v in files.items()},
        eeg_correction=eeg_correction,
        context_complete=synthesized.context_complete,
        timing=extra["VolumeOnsetsFromEEG"]["Description"],
        adaptations=[] if synthesized.conformed is None
        else synthesized.conformed.summary(),
    )


def write_eeg_only_run(out_dir, run, synthesized, estimator, *, model_info=None,
                       preprocessing=None, dataset_links=None):
    """Write one run synthesized from EEG recorded without fMRI.

    The image goes on the model's grid as ``space-<label>``; the model's reference
    mean volume (the ``SpatialReference``) and brain mask are written beside it.

    Parameters
    ----------
    out_dir : str or Path
    run : EEGRun
    synthesized : SynthesizedRun
    estimator : fitted estimator
        It must know its output space (model files of format 3 do).
    model_info, preprocessing, dataset_links : dict, optional

    Returns
    -------
    result : RunResult
        ``measured`` is None: there is no measured BOLD to compare with.
    """
    from ..estimators import prediction_units
    from ..exceptions import ModelFileError
    from ..reports import RunResult

    space = getattr(estimator, "output_space_", None)
    if space is None:
        raise ModelFileError(
            f"{run.label}: the model records no output grid (a model file of an older "
            "format): EEG recorded without fMRI cannot be synthesized with it; refit "
            "and save the model with this version"
        )
    affine = np.asarray(space.affine, dtype=float)
    ref_path, mask_path = write_space_reference(
        out_dir, run, space.label, space.reference, space.mask, affine,
        model=model_info,
    )
    files = expected_outputs(out_dir, run, space.label)
    extra = synthesized.sidecar()
    extra["SpaceDescription"] = space.description
    write_synthesized_run(
        out_dir, run, synthesized.volumes, affine, synthesized.tr,
        np.arange(synthesized.n_frames), dataset_links=dataset_links,
        model=model_info, preprocessing=preprocessing,
        intensity_units=prediction_units(getattr(estimator, "target_scaling", None)),
        space=space.label, spatial_reference=f"bids::{ref_path.relpath.as_posix()}",
        extra=extra,
    )
    mask = np.asarray(space.mask, dtype=bool)
    return RunResult(
        label=_report_label(files["bold"]),
        measured=None,
        synthesized=synthesized.volumes,
        baseline=None,
        affine=affine,
        tr=synthesized.tr,
        volume_indices=np.arange(synthesized.n_frames),
        metrics=None,
        r_map=None,
        mask=mask,
        summary={"n_frames": synthesized.n_frames},
        files={k: v.relpath.as_posix() for k, v in files.items()},
        context_complete=synthesized.context_complete,
        timing=extra["VolumeOnsetsFromEEG"]["Description"],
        adaptations=[] if synthesized.conformed is None
        else synthesized.conformed.summary(),
        reference=np.asarray(space.reference, dtype=np.float32),
        space=space.label,
    )
