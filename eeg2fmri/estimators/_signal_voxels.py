"""Where the EEG predicts the BOLD: the voxels a network of Spec2VolEstimator learns.

Most voxels of a volume carry no EEG-related signal, and under real-like BOLD noise
(autocorrelated, drifting, physiological, spatially smooth) a network that fits every
voxel spends its few shared time courses on that coherent noise, through chance
correlations with a high-dimensional EEG input: on the study's noddi-like simulation
with real-like noise (12 participants, 120 volumes; fold 1, 9 training
participants), the bridge-only network reached a held-out network r of 0.13 against
the band-power ridge's 0.41, and 0.50 when it learned only the voxels below
(``docs/robustness.rst``). The
voxel-wise ridge does not suffer: its per-voxel penalty shrinks the noise voxels to
their mean.

:func:`fit_band_ridge` fits :class:`~eeg2fmri.BandPowerRidge` (one penalty per voxel,
chosen by cross-validation over the training participants) on the rows a network
trains on; :func:`signal_voxels` keeps the voxels where that ridge predicted held-out
training participants (its per-voxel cross-validated correlation,
``cv_voxel_scores_``, smoothed over neighbouring voxels) above a threshold set so that
an estimated 10 % at most of the kept voxels are noise (:func:`mirror_threshold`).
The network's outputs are the training mean elsewhere. The same ridge is the baseline
of the fit-time check (:mod:`._baseline_check`).
"""

# SPDX-License-Identifier: BSD-3-Clause

import warnings

import numpy as np

from .._utils.logging import logger

__all__ = [
    "fit_band_ridge",
    "signal_voxels",
    "mirror_threshold",
    "signal_voxels_of",
    "octave_bands",
    "MIN_SIGNAL_VOXELS",
]

#: Fewer signal voxels than this: the network learns every voxel (and the check
#: scores all voxels).
MIN_SIGNAL_VOXELS = 10


class _Rows:
    """Rows ``rows`` of an array-like, each reshaped to ``sample_shape`` (lazy).

    Has ``shape``, ``dtype`` and integer-array indexing, which is what the estimators
    read lazy inputs through; nothing is copied until rows are read.
    """

    def __init__(self, X, rows, sample_shape):
        self.X, self.rows = X, np.asarray(rows)
        self.sample_shape = tuple(int(s) for s in sample_shape)
        self.shape = (len(self.rows), *self.sample_shape)
        self.dtype = np.dtype(getattr(X, "dtype", np.float32))

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, idx):
        idx = np.atleast_1d(np.asarray(idx))
        rows = self.rows[idx]
        order = np.argsort(rows, kind="stable")  # increasing reads (memory maps)
        out = np.asarray(self.X[rows[order]]).reshape(len(rows), *self.sample_shape)
        return out[np.argsort(order, kind="stable")]


def octave_bands(n_freqs):
    """Octave-wide groups of bins ``[lo, hi)`` for X without known frequencies.

    Parameters
    ----------
    n_freqs : int

    Returns
    -------
    bands : list of (int, int)
        Bin-index bands ``[1, 2), [2, 4), [4, 8), ...`` up to ``n_freqs`` (the
        first band also holds bin 0); with the default features (bin ``k`` at
        ``k / TR`` Hz) these are octaves, as the EEG's classical bands roughly are.
    """
    edges = [0, 2]
    while edges[-1] < n_freqs:
        edges.append(min(2 * edges[-1], n_freqs))
    edges = sorted(set(min(e, n_freqs) for e in edges))
    return [(lo, hi) for lo, hi in zip(edges[:-1], edges[1:], strict=False) if hi > lo]


def _new_ridge(est, n_freqs, frequencies=None):
    from .ridge import BandPowerRidge

    scaling = est.target_scaling
    if frequencies is not None:
        freqs = np.asarray(frequencies, dtype=np.float64)
        if len(freqs) != n_freqs:
            raise ValueError(
                f"The 'frequencies' parameter of {type(est).__name__} must have one "
                f"value per frequency bin of X: expected {n_freqs} values, found "
                f"{len(freqs)}."
            )
        return BandPowerRidge(frequencies=freqs, target_scaling=scaling), (
            "BandPowerRidge(frequencies=...)"
        )
    return (
        BandPowerRidge(
            frequencies=np.arange(n_freqs, dtype=np.float64),
            bands=octave_bands(n_freqs),
            target_scaling=scaling,
        ),
        "BandPowerRidge on octave bands of bins (no 'frequencies' given)",
    )


def fit_band_ridge(est, X, y, rows, *, groups, codes, input_shape, output_shape,
                   frequencies=None):
    """A band-power ridge fitted on the rows ``rows`` (a network's training rows).

    Parameters
    ----------
    est : Spec2VolEstimator
        Its ``target_scaling`` (and name, in messages).
    X, y : array-like
        All the rows given to ``fit`` (validated; lazily read).
    rows : ndarray of int
    groups, codes : array-like or None, ndarray of int
        Participant and run code of every row (the ridge's folds hold out
        participants).
    input_shape, output_shape : tuple of int
    frequencies : array-like of shape (n_freqs,), optional
        Frequencies of the bins; without them the ridge averages octave-wide groups
        of bins.

    Returns
    -------
    ridge : BandPowerRidge
        Fitted, one penalty per voxel.
    label : str
        What the ridge is, for logs and ``baseline_check_``.
    """
    ridge, label = _new_ridge(est, input_shape[2], frequencies)
    with warnings.catch_warnings():
        # the ridge's own notes (one group, contiguous folds) are not the user's
        warnings.simplefilter("ignore", UserWarning)
        ridge.fit(
            _Rows(X, rows, input_shape),
            _Rows(y, rows, output_shape),
            groups=None if groups is None else np.asarray(groups)[rows],
            runs=np.asarray(codes)[rows],
        )
    return ridge, label


def mirror_threshold(scores, fdr=0.1):
    """The lowest held-out r at which the positive voxels are mostly real.

    Noise voxels have held-out correlations spread symmetrically around 0, voxels
    with signal add a positive tail; the number of voxels at or below ``-t``
    estimates how many of those at or above ``t`` are noise (a mirror estimate of
    the false discovery rate).

    Parameters
    ----------
    scores : ndarray of shape (n_voxels,)
        Held-out correlations (NaN: not scored, never kept).
    fdr : float, default=0.1
        Largest estimated share of noise voxels among those kept.

    Returns
    -------
    threshold : float or None
        The smallest ``t > 0`` with ``#(scores <= -t) <= fdr * #(scores >= t)``;
        None when no ``t`` satisfies it.
    """
    scores = np.asarray(scores, dtype=np.float64)
    scores = scores[np.isfinite(scores)]
    positive = np.sort(scores[scores > 0])[::-1]  # candidate thresholds, descending
    if not len(positive):
        return None
    negative = np.sort(-scores[scores < 0])  # |r| of the negative voxels, ascending
    n_kept = np.arange(1, len(positive) + 1)
    n_mirror = len(negative) - np.searchsorted(negative, positive, side="left")
    ok = np.flatnonzero(n_mirror <= fdr * n_kept)
    return None if not len(ok) else float(positive[ok[-1]])


def signal_voxels(ridge, output_shape, fdr=0.1, smooth=1.0):
    """The voxels where ``ridge`` found EEG-related signal, or None when too few.

    Parameters
    ----------
    ridge : BandPowerRidge
        Fitted with one penalty per voxel (``alpha_per_target=True``).
    output_shape : tuple of int (D, H, W)
    fdr : float, default=0.1
        See :func:`mirror_threshold`.
    smooth : float, default=1.0
        Standard deviation (voxels) of the Gaussian the map of held-out
        correlations is smoothed with first: a network is spatially extended, and
        pooling neighbours' evidence finds it where single voxels are too noisy (on
        the ``realistic`` simulation: 82 of its 92 network voxels among 761 kept,
        against 3 among 4 without smoothing). 0 disables it.

    Returns
    -------
    mask : ndarray of bool, shape (D, H, W), or None
        True where the smoothed held-out correlation (``cv_voxel_scores_``, at each
        voxel's chosen penalty) reaches :func:`mirror_threshold`; None when fewer
        than :data:`MIN_SIGNAL_VOXELS` voxels do, or the ridge has no per-voxel
        scores.
    """
    scores = getattr(ridge, "cv_voxel_scores_", None)
    n_vox = int(np.prod(output_shape))
    if scores is None or len(scores) != n_vox:
        return None
    scores = np.asarray(scores, dtype=np.float64).reshape(output_shape)
    if smooth:
        from scipy import ndimage

        scores = ndimage.gaussian_filter(np.nan_to_num(scores), float(smooth))
    threshold = mirror_threshold(scores.ravel(), fdr)
    n_signal = 0
    if threshold is not None:
        mask = scores >= threshold
        n_signal = int(mask.sum())
    if n_signal < MIN_SIGNAL_VOXELS:
        logger.warning(
            "the band-power ridge found EEG-related signal in %d of %d voxels (fewer "
            "than %d): the network learns every voxel", n_signal, n_vox,
            MIN_SIGNAL_VOXELS,
        )
        return None
    logger.info(
        "signal voxels: %d of %d (held-out r of the band-power ridge, smoothed "
        "with a Gaussian of SD %g voxel(s), >= %.3f; estimated share of noise voxels "
        "<= %g)", n_signal, n_vox, smooth, threshold, fdr,
    )
    return mask


def signal_voxels_of(estimator):
    """The voxels where a fitted model found EEG-related signal, or None.

    Parameters
    ----------
    estimator : fitted estimator
        A :class:`~eeg2fmri.Spec2VolEstimator` (its ``signal_mask_``: the voxels
        its network learned) or a :class:`~eeg2fmri.BandPowerRidge` with one
        penalty per voxel (the voxels :func:`signal_voxels` keeps from its
        ``cv_voxel_scores_``).

    Returns
    -------
    mask : ndarray of bool of shape ``estimator.output_shape_``, or None
        None for models that did not select voxels (the mean volume, a network
        trained on every voxel, a ridge with one penalty).

    Examples
    --------
    The report's "signal voxels" of a run are ``signal_voxels_of(model)``: chosen
    on the training participants, never on the run being scored.
    """
    mask = getattr(estimator, "signal_mask_", None)
    if mask is not None:
        return np.asarray(mask, dtype=bool)
    shape = getattr(estimator, "output_shape_", None)
    if getattr(estimator, "cv_voxel_scores_", None) is None or shape is None:
        return None
    return signal_voxels(estimator, tuple(shape))
