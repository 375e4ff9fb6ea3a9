"""A synthesized run as a nilearn-ready NIfTI image, straight from its EEG.

:func:`synthesize_image` does in one call what the BIDS-App does for each run: find
the volume onsets in the EEG, compute the TR-window spectra, pair each volume with its
EEG context, predict, and lay the volumes out on the BOLD grid. The result is a
:class:`nibabel.Nifti1Image` that nilearn takes as it is (``NiftiMasker``,
``plot_carpet``, ``FirstLevelModel``): affine of the reference BOLD (or of the model's
grid over the same field of view), ``zooms[3]`` = TR, units mm and s, and
``header["toffset"]`` = onset of its first frame after the first source volume.
"""

import numpy as np

from ._utils.logging import logger

__all__ = ["synthesize_image"]

_SHORT_UNITS = {
    "zscore": "BOLD units",
    "run": "BOLD units",
    "volume": "per-volume min-max [0,1]",
}


def _feature_params(estimator, params):
    from .features import FeatureParams

    if params is not None:
        if not isinstance(params, FeatureParams):
            raise TypeError(
                f"params must be a FeatureParams, got {type(params).__name__}"
            )
        return params
    value = getattr(estimator, "feature_params_", None)
    if isinstance(value, FeatureParams):
        return value
    if isinstance(value, dict) and value:
        return FeatureParams.from_dict(value)
    raise ValueError(
        "params: the estimator carries no feature parameters (feature_params_, set by "
        "the BIDS-App and load_model); pass the FeatureParams its training pairs were "
        "built with"
    )


def _reference_image(reference):
    if reference is None:
        return None
    if hasattr(reference, "affine") and hasattr(reference, "header"):
        return reference
    import nibabel as nib

    from .bids.interop import as_file_path

    path = as_file_path(reference, "reference")
    try:
        return nib.load(path)
    except FileNotFoundError:
        from .exceptions import MissingInputError

        raise MissingInputError(f"reference: file {path} does not exist") from None
    except Exception as err:
        from .exceptions import DataError

        raise DataError(f"reference: cannot read {path} as NIfTI: {err}") from None


def synthesize_image(
    estimator,
    eeg,
    reference=None,
    *,
    tr=None,
    affine=None,
    params=None,
    marker="auto",
    return_volume_indices=False,
):
    """Synthesize the BOLD run of one EEG recording as a 4-D NIfTI image.

    Parameters
    ----------
    estimator : fitted estimator
        :class:`~eeg2fmri.Spec2VolEstimator`, :class:`~eeg2fmri.BandPowerRidge`, ...
        (``load_model(path)`` of a saved model), trained on pairs with volumes of
        ``estimator.output_shape_`` (D, H, W).
    eeg : PairedRun, path-like, mne_bids.BIDSPath, bids.layout.BIDSFile or mne.io.Raw
        The run's EEG. A :class:`~eeg2fmri.bids.PairedRun` also gives the reference
        BOLD and the TR.
    reference : path-like, BIDSPath, BIDSFile or nibabel image, optional
        A BOLD image of the run (or any image on its grid): its affine is the output
        grid (rescaled to ``output_shape_`` over the same field of view when the
        model's grid differs), its 4th dimension the number of volumes, its
        ``zooms[3]`` the TR.
    tr : float, optional
        Repetition time in seconds; default from ``eeg`` (a PairedRun's sidecars),
        then the reference header.
    affine : array-like of shape (4, 4), optional
        Voxel-to-mm affine of the output grid, instead of the reference's.
    params : FeatureParams, optional
        Preprocessing of the EEG; default ``estimator.feature_params_`` (saved with
        models written by the BIDS-App).
    marker : str, default="auto"
        Volume trigger in the EEG (:func:`eeg2fmri.bids.find_volume_onsets`).
    return_volume_indices : bool, default=False
        Also return the 0-based source volume of each frame.

    Returns
    -------
    img : nibabel.Nifti1Image
        (x, y, z, n_frames) float32, one frame per volume with a full EEG context
        (the first ``discard_volumes`` and those without context are left out, as in
        the BIDS-App's derivatives). ``zooms[3]`` = TR, units ``("mm", "sec")``,
        ``header["toffset"]`` = ``volume_indices[0] * TR``, ``header["descrip"]``
        names the intensity units (``"BOLD units"`` for ``target_scaling='zscore'``
        or ``'run'``, ``"per-volume min-max [0,1]"`` for ``'volume'``).
    volume_indices : ndarray of int
        Only with ``return_volume_indices=True``.

    Raises
    ------
    ValueError
        No grid (neither ``reference`` nor ``affine``), no TR, or no feature
        parameters.
    AlignmentError
        The EEG has no usable volume onsets, or no volume has a full context.

    Examples
    --------
    >>> img = synthesize_image(model, run)  # doctest: +SKIP
    >>> NiftiMasker().fit_transform(img).shape  # doctest: +SKIP
    (n_frames, n_voxels)
    """
    from sklearn.utils.validation import check_is_fitted

    from . import bids
    from ._version import __version__
    from .bids.derivatives import volumes_to_nifti_image
    from .exceptions import AlignmentError
    from .features import ContextPairs, compute_window_spectra
    from .features.resample import resampled_affine
    from .features.spectra import make_window_grid

    check_is_fitted(estimator)
    params = _feature_params(estimator, params)
    output_shape = tuple(int(s) for s in getattr(estimator, "output_shape_", ()))
    if len(output_shape) != 3:
        raise ValueError(
            "estimator: expected a model of volumes (output_shape_ = (D, H, W)), got "
            f"output_shape_={output_shape!r}"
        )

    label = None
    if hasattr(eeg, "eeg_path") and hasattr(eeg, "bold_path"):  # PairedRun
        label = eeg.label
        if reference is None:
            reference = eeg.bold_path
        if tr is None:
            tr = eeg.tr
        eeg = eeg.eeg_path
    if hasattr(eeg, "info") and hasattr(eeg, "annotations"):  # mne Raw
        raw = eeg
    else:
        raw = bids.load_eeg(eeg)
    label = label or (raw.filenames[0].name if raw.filenames and raw.filenames[0]
                      else "EEG")

    ref = _reference_image(reference)
    n_volumes = None
    if ref is not None:
        shape = ref.shape
        if len(shape) == 4:
            n_volumes = int(shape[3])
            if tr is None:
                tr = bids.bold.header_tr(ref.header, "reference")
        if affine is None:
            native = (int(shape[2]), int(shape[0]), int(shape[1]))
            affine = np.asarray(ref.affine, dtype=float)
            if native != output_shape:
                affine = resampled_affine(affine, native, output_shape)
    if affine is None:
        raise ValueError(
            "reference: no output grid; give a reference BOLD image (or a PairedRun) "
            "or an affine"
        )
    affine = np.asarray(affine, dtype=float)
    if affine.shape != (4, 4):
        raise ValueError(f"affine must have shape (4, 4), got {affine.shape}")
    if tr is None or not float(tr) > 0:
        raise ValueError(
            f"tr: expected a positive repetition time in seconds, found {tr!r} (give "
            "tr= or a reference image whose header has it)"
        )
    tr = float(tr)

    onsets = bids.find_volume_onsets(
        raw, tr=tr, marker=marker, n_volumes=n_volumes, run_label=label
    ).onsets
    onsets = np.asarray(onsets, dtype=float)
    if n_volumes is not None:
        onsets = onsets[:n_volumes]
    data = raw.get_data()
    sfreq = float(raw.info["sfreq"])
    grid = make_window_grid(onsets, sfreq, tr, data.shape[-1], params)
    spectra = compute_window_spectra(data, sfreq, grid.starts, grid.window_length,
                                     params)
    n_ctx = params.n_context_for(tr)
    targets, last, _ = grid.pairs(n_ctx, params.discard_volumes,
                                  params.use_pre_scan_eeg)
    if targets.size == 0:
        raise AlignmentError(
            f"{label}: no volume has a full EEG context ({len(onsets)} volumes, "
            f"n_context={n_ctx}, discard_volumes={params.discard_volumes})"
        )
    X = ContextPairs(spectra, last, n_ctx)
    pred = np.asarray(estimator.predict(X), dtype=np.float32)
    pred = pred.reshape(len(targets), *output_shape)
    indices = np.asarray(targets, dtype=int)
    if np.any(np.diff(indices) != 1):
        logger.warning(
            "%s: the synthesized volumes are not contiguous (%s); frame t is source "
            "volume volume_indices[t]", label, indices.tolist()
        )
    img = volumes_to_nifti_image(pred, affine, tr)
    img.header["toffset"] = float(indices[0] * tr)
    units = _SHORT_UNITS.get(getattr(estimator, "target_scaling", "volume"),
                             _SHORT_UNITS["volume"])
    img.header["descrip"] = f"eeg2fmri {__version__} synthesized BOLD, {units}"[:79]
    if return_volume_indices:
        return img, indices
    return img
