"""Scores of one held-out participant: SSIM, PSNR, temporal and parcel correlations."""

import numpy as np

from .data import brain_mask, network_mask, power_spheres, scale_volumes, subject_order

#: Per-subject metrics, in the order of the tables.
METRICS = (
    "ssim",
    "psnr",
    "r_network",
    "r_brain",
    "r_null",
    "r_parcels",
    "r_parcels_all",
)
METRIC_LABELS = {
    "ssim": "SSIM",
    "psnr": "PSNR (dB)",
    "r_network": "temporal r, network voxels",
    "r_brain": "temporal r, brain",
    "r_null": "temporal r, network voxels, EEG shifted",
    "r_parcels": "parcel r, network spheres",
    "r_parcels_all": "parcel r, all spheres",
}


def score_subject(y_raw, pred_metric, pred_corr, y_corr, net_mask, spheres,
                  pred_null=None):
    """Every metric of one held-out subject (volumes in time order).

    Parameters
    ----------
    y_raw : ndarray of shape (n, D, H, W)
        Measured volumes.
    pred_metric : ndarray of shape (n, D, H, W)
        Predictions in the paper's units (compared with ``y_raw`` scaled per volume).
    pred_corr, y_corr : ndarray of shape (n, D, H, W)
        Predictions and measured volumes in the units of the correlations
        (:func:`eeg2fmri.metrics.comparable_volumes` with ``kind='correlation'``).
    net_mask : ndarray of bool of shape (D, H, W)
    spheres : (masks, in_network)
        :func:`~benchmarks.study.data.power_spheres`.
    pred_null : ndarray of shape (n, D, H, W), optional
        Predictions from shifted EEG, in the units of the correlations.

    Returns
    -------
    scores : dict
        :data:`METRICS` and ``per_volume`` (``{"ssim": [...], "psnr": [...]}``).
    """
    from eeg2fmri.metrics import (
        mean_temporal_correlation,
        parcel_correlation,
        psnr_per_volume,
        ssim_per_volume,
    )

    y_scaled = scale_volumes(y_raw)
    ssim = ssim_per_volume(y_scaled, pred_metric)
    psnr = psnr_per_volume(y_scaled, pred_metric)
    brain = brain_mask(y_scaled)
    masks, in_network = spheres
    parcels = parcel_correlation(y_corr, pred_corr, masks)
    out = {
        "ssim": float(np.mean(ssim)),
        "psnr": float(np.mean(psnr)),
        "r_network": mean_temporal_correlation(y_corr, pred_corr, net_mask),
        "r_brain": mean_temporal_correlation(y_corr, pred_corr, brain),
        "r_null": np.nan,
        "r_parcels": (
            float(np.nanmean(parcels[in_network])) if in_network.any() else np.nan
        ),
        "r_parcels_all": float(np.nanmean(parcels)),
        "per_volume": {"ssim": ssim.tolist(), "psnr": psnr.tolist()},
    }
    if pred_null is not None:
        out["r_null"] = mean_temporal_correlation(y_corr, pred_null, net_mask)
    return out


def score_predictions(ds, test_idx, est, pred, *, bids, target_shape=None,
                      pred_null=None, metric_pred=None):
    """Per-subject scores of predictions of the rows ``test_idx`` of ``ds``.

    Parameters
    ----------
    ds : eeg2fmri.features.PairedDataset
    test_idx : ndarray of int of shape (n,)
    est : fitted estimator
        Sets the units of the scores (:func:`eeg2fmri.metrics.comparable_volumes`).
    pred : ndarray of shape (n, D, H, W)
        ``est.predict`` of the test rows.
    bids : Path
        The simulated dataset (its network masks).
    target_shape : tuple, optional
        The grid the BOLD was resampled to.
    pred_null : ndarray, optional
        Predictions from shifted test EEG.
    metric_pred : ndarray, optional
        Predictions already in the paper's units (default: from ``pred``).

    Returns
    -------
    scores : dict
        ``{subject: score_subject(...)}``.
    """
    from eeg2fmri.metrics import comparable_volumes

    y_raw = np.asarray(ds.y[test_idx], dtype=np.float64)
    if metric_pred is None:
        _, metric_pred = comparable_volumes(est, y_raw, pred, kind="metric")
    y_corr, pred_corr = comparable_volumes(est, y_raw, pred, kind="correlation")
    null_corr = None
    if pred_null is not None:
        _, null_corr = comparable_volumes(est, y_raw, pred_null, kind="correlation")
    run_labels = ds.provenance["run_label"].to_numpy()[test_idx]
    out = {}
    for s, rows in subject_order(ds, test_idx).items():
        net = network_mask(bids, run_labels[rows[0]], target_shape)
        brain = brain_mask(scale_volumes(y_raw[rows]))
        out[s] = score_subject(
            y_raw[rows],
            metric_pred[rows],
            pred_corr[rows],
            y_corr[rows],
            net,
            power_spheres(ds.affine, net, brain),
            None if null_corr is None else null_corr[rows],
        )
    return out
