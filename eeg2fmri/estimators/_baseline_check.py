"""The fit-time baseline check of :class:`eeg2fmri.Spec2VolEstimator`.

A deep model that does not beat the band-power ridge on a dataset should not be
trusted on it, and the user should hear so when fitting, not after a study. With
validation participants held out, :func:`baseline_check` fits
:class:`~eeg2fmri.BandPowerRidge` on the same training participants as the
network, scores both on the validation participants, stores the comparison (the
estimator's ``baseline_check_``) and issues a
:class:`~eeg2fmri.exceptions.BaselineWarning` naming the ridge when the network scores
below it.

The score is the voxel-wise temporal correlation between predicted and measured BOLD
on each validation run (prediction units, the runs' own time courses), averaged over
the runs, in the voxels where the ridge's own cross-validation on the training
participants found EEG-related signal (held-out r above a threshold with an estimated
10 % of noise voxels at most: :func:`._signal_voxels.signal_voxels`, the voxels the
network learns with ``signal_voxels='ridge'``). Most voxels of a volume carry no
EEG-related signal; a mean over all of them is dominated by chance correlations
(``docs/robustness.rst``). Both models are scored on the same voxels, chosen without
the validation data; the mean over all voxels is stored too. When the ridge finds
fewer than :data:`._signal_voxels.MIN_SIGNAL_VOXELS`
such voxels, all voxels are used.

Cost: predictions for the validation rows; the ridge (a few seconds at the study's
sizes) is the one fitted for the signal voxels.
"""

# SPDX-License-Identifier: BSD-3-Clause

import time
import warnings

import numpy as np

from .._utils.logging import logger
from ._signal_voxels import _Rows

__all__ = ["baseline_check"]

def _run_scores(y, pred, codes, mask, volume_units):
    """Mean over runs of the mean temporal r in ``mask`` (None: all voxels)."""
    from ..metrics import mean_temporal_correlation
    from .scaling import per_volume_minmax

    if volume_units:
        y = per_volume_minmax(y)
    scores = []
    for code in np.unique(codes):
        sel = codes == code
        if sel.sum() >= 3:
            scores.append(mean_temporal_correlation(y[sel], pred[sel], mask))
    scores = [s for s in scores if np.isfinite(s)]
    return float(np.mean(scores)) if scores else float("nan")


def baseline_check(est, X, y, train_idx, val_idx, fit, *, codes, val_groups, refit,
                   ridge, label, signal, backing=None):
    """Compare the network of ``fit`` with a band-power ridge on the validation rows.

    Parameters
    ----------
    est : Spec2VolEstimator
        The estimator being fitted (its parameters).
    X, y : array-like
        All the rows given to ``fit``.
    train_idx, val_idx : ndarray of int
        Rows the network was trained and validated on.
    fit : SimpleNamespace
        The network's fit (``model``, ``cfg``, ``target``) on ``train_idx``.
    codes : ndarray of int
        Run code of every row.
    val_groups : list or None
        The validation participants.
    refit : bool
        Whether the final network is refitted on every participant.
    ridge : BandPowerRidge
        Fitted on ``train_idx`` (:func:`._signal_voxels.fit_band_ridge`).
    label : str
        What the ridge is.
    signal : ndarray of bool of shape (D, H, W) or None
        The voxels where the ridge found EEG-related signal
        (:func:`._signal_voxels.signal_voxels`); None: score all voxels.
    backing : RidgeBacking, optional
        The ridge backing of the validation fit (``ridge_backing``): the check then
        scores the estimator's predictions (network and ridge combined) against the
        ridge, and stores the network's own score as ``network_alone_r``.

    Returns
    -------
    check : dict
        ``{"ran": False, "reason": ...}`` without validation rows; else
        ``network_r`` (the estimator's predictions: with ``backing``, network and
        ridge combined), ``ridge_r`` (the score of the module documentation),
        ``network_alone_r`` (with ``backing``), ``ridge_backing``,
        ``predictions_are_the_ridge`` (the backing blends no voxel: no warning),
        ``network_r_all_voxels``, ``ridge_r_all_voxels``, ``n_signal_voxels``,
        ``n_voxels``, ``better`` (``"network"`` or ``"ridge"``), ``baseline``,
        ``validation_groups``, ``n_train``, ``n_validation``, ``refit``,
        ``seconds``.
    """
    from .training import predict_batches

    if not len(val_idx):
        reason = (
            "no validation participants (validation_split=0, fewer than 3 "
            "participants, or none after rounding)"
        )
        logger.info("baseline check not run: %s", reason)
        return {"ran": False, "reason": reason}
    t0 = time.perf_counter()
    input_shape, output_shape = fit.cfg.input_shape, fit.cfg.output_shape
    X_val = _Rows(X, val_idx, input_shape)
    y_val = _Rows(y, val_idx, output_shape)[np.arange(len(val_idx))]
    y_val = y_val.astype(np.float64)
    outputs = predict_batches(fit.model, X_val, fit.cfg)
    alone = None
    if backing is not None:
        alone = np.asarray(fit.target.to_prediction(outputs), dtype=np.float64)
        outputs = backing.combine(outputs, X_val)
    net = np.asarray(fit.target.to_prediction(outputs), dtype=np.float64)
    lin = np.asarray(ridge.predict(X_val), dtype=np.float64).reshape(y_val.shape)
    n_vox = int(np.prod(output_shape))
    mask = signal
    n_signal = n_vox if mask is None else int(mask.sum())
    val_codes = np.asarray(codes)[val_idx]
    volume_units = est.target_scaling == "volume"
    scores = {
        "network_r": _run_scores(y_val, net, val_codes, mask, volume_units),
        "ridge_r": _run_scores(y_val, lin, val_codes, mask, volume_units),
        "network_r_all_voxels": _run_scores(y_val, net, val_codes, None,
                                            volume_units),
        "ridge_r_all_voxels": _run_scores(y_val, lin, val_codes, None, volume_units),
    }
    if alone is not None:
        scores["network_alone_r"] = _run_scores(y_val, alone, val_codes, mask,
                                                volume_units)
    better = (
        "ridge"
        if np.isfinite(scores["ridge_r"])
        and not scores["network_r"] >= scores["ridge_r"]
        else "network"
    )
    check = {
        "ran": True,
        **scores,
        "score": (
            "mean temporal r per validation run, voxels where the ridge found "
            "EEG-related signal" if mask is not None else
            "mean temporal r per validation run, all voxels"
        ),
        "n_signal_voxels": n_signal,
        "ridge_backing": backing is not None,
        "n_voxels": n_vox,
        "better": better,
        "baseline": label,
        "validation_groups": None if val_groups is None else list(val_groups),
        "n_train": int(len(train_idx)),
        "n_validation": int(len(val_idx)),
        "refit": bool(refit),
        "seconds": time.perf_counter() - t0,
    }
    logger.info(
        "baseline check on %d validation samples: network r %.3f, %s r %.3f",
        len(val_idx), scores["network_r"], label, scores["ridge_r"],
    )
    ridge_alone = backing is not None and not backing.blend.any()
    check["predictions_are_the_ridge"] = ridge_alone
    if better == "ridge" and not ridge_alone:
        what = "network and ridge combination" if backing is not None else "network"
        who = (
            f"participant(s) {', '.join(map(str, val_groups))}"
            if val_groups else f"{len(val_idx)} held-out samples"
        )
        warnings.warn(
            f"{type(est).__name__}: on the validation {who}, the {what}'s temporal r "
            f"({scores['network_r']:.3f}) is below that of a band-power ridge fitted "
            f"on the same training participants ({scores['ridge_r']:.3f}); for this "
            "dataset eeg2fmri.BandPowerRidge is the better choice (BIDS-App: "
            "--model-name ridge). Details in baseline_check_; "
            "baseline_check=False turns the check off.",
            _warning_class(),
            stacklevel=3,
        )
    return check


def _warning_class():
    from ..exceptions import BaselineWarning

    return BaselineWarning
