"""Synthesized BOLD from EEG alone: :func:`synthesize_run` and :func:`synthesize_image`.

Applying a trained model to a recording, whether it was made in the scanner or in
another lab with another cap:

1. the recording is put into the model's channels (:func:`eeg2fmri.spaces.conform_raw`:
   names and aliases, spline interpolation of missing or bad electrodes, resampling;
   models of older files, which know no channel names, take channels by position);
2. volume timing: the scanner's volume markers when the EEG has them, else volume
   ``k`` starts ``k * TR`` after EEG sample 0, with the model's TR;
3. the TR-window spectra of the whole recording, and the context of every frame
   (every volume the EEG covers, run start included): windows the EEG does not hold
   (before its first sample) are filled with the recording's mean spectrum, and those
   frames are marked (``context_windows < n_context``);
4. the model's prediction, in its units (BOLD units for ``target_scaling='zscore'``:
   the training participants' reference volume plus the predicted fluctuation).

:func:`synthesize_image` lays the frames out on the model's grid
(:attr:`~eeg2fmri.estimators.BaseVolumeRegressor.output_space_`), or on a reference
BOLD's grid, as a :class:`nibabel.Nifti1Image` that nilearn takes as it is.
"""

import dataclasses
from dataclasses import dataclass

import numpy as np

from ._utils.logging import logger

__all__ = ["synthesize_run", "synthesize_image", "SynthesizedRun", "APPLY_PICKS"]

#: Channel types read from a recording before it is put into a model's channels: all
#: but stimulus channels, so that the channels the model does not use are reported
#: as dropped (e.g. an EOG the training cap did not have).
APPLY_PICKS = ["eeg", "ecg", "eog", "emg", "misc", "resp", "bio", "gsr",
               "temperature"]

_SHORT_UNITS = {
    "zscore": "BOLD units",
    "run": "BOLD units",
    "volume": "per-volume min-max [0,1]",
}


@dataclass
class SynthesizedRun:
    """The synthesized frames of one recording and how they were made.

    Attributes
    ----------
    volumes : ndarray of float32, shape (n_frames, D, H, W)
        One frame per volume the EEG covers, in the model's prediction units.
    tr : float
        Repetition time (s).
    onsets : ndarray of float64, shape (n_frames,)
        Onset of each frame in seconds from the first EEG sample.
    context_windows : ndarray of int, shape (n_frames,)
        EEG windows of each frame's context that the recording holds.
    n_context : int
        Windows of a complete context.
    timing : {"markers", "eeg-start"}
        Where the volume onsets came from: the scanner's volume markers, or EEG
        sample 0 at the model's TR.
    marker : str or None
        The volume marker used.
    conformed : Conformed or None
        What it took to put the recording into the model's channels (None for models
        without channel names, taken by position).
    label : str
        Name of the recording.
    units : str
        Short description of the intensity units.
    """

    volumes: np.ndarray
    tr: float
    onsets: np.ndarray
    context_windows: np.ndarray
    n_context: int
    timing: str
    marker: str | None
    conformed: object
    label: str
    units: str

    @property
    def n_frames(self):
        """Number of frames (int)."""
        return int(len(self.volumes))

    @property
    def context_complete(self):
        """Whether each frame had its whole EEG context (ndarray of bool)."""
        return self.context_windows >= self.n_context

    def sidecar(self):
        """What a derivative's JSON says about timing, context and adaptations."""
        first = float(self.onsets[0]) if len(self.onsets) else 0.0
        out = {
            "RepetitionTime": float(self.tr),
            "VolumeOnsetsFromEEG": {
                "Source": self.timing,
                "Description": (
                    f"volume onsets from the EEG's scanner markers ({self.marker})"
                    if self.timing == "markers"
                    else "volume k starts k * RepetitionTime after the first EEG "
                    "sample (no scanner markers in the EEG)"
                ),
                "Marker": self.marker,
                "FirstVolumeOnset": first,
            },
            "NumberOfFrames": self.n_frames,
            "ContextWindows": int(self.n_context),
            "ContextComplete": [bool(v) for v in self.context_complete],
            "FramesWithIncompleteContext": [
                int(i) for i in np.flatnonzero(~self.context_complete)
            ],
            "IncompleteContextFill": (
                "EEG windows before the first EEG sample (or after the last) are "
                "replaced by the recording's mean spectrum"
            ),
        }
        if self.conformed is not None:
            out["EEGAdaptations"] = self.conformed.to_sidecar()
        else:
            out["EEGAdaptations"] = {
                "ChannelsByPosition": True,
                "Notes": [
                    "the model file records no channel names: channels were taken "
                    "by position"
                ],
            }
        return out


# ------------------------------------------------------------------------ inputs


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
        "fit on build_dataset() output, the BIDS-App and load_model); pass the "
        "FeatureParams its training pairs were built with"
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


def _line_freq(metadata):
    value = (metadata or {}).get("PowerLineFrequency")
    try:
        return None if value in (None, "n/a") else float(value)
    except (TypeError, ValueError):
        return None


def _open_eeg(eeg):
    """``(raw, label, line_freq, reference, tr)`` of any EEG input."""
    from . import bids

    label = reference = tr = line = None
    if hasattr(eeg, "eeg_path") and hasattr(eeg, "label"):  # PairedRun or EEGRun
        label = eeg.label
        line = _line_freq(getattr(eeg, "eeg_metadata", None))
        if hasattr(eeg, "bold_path"):
            reference, tr = eeg.bold_path, eeg.tr
        eeg = eeg.eeg_path
    if hasattr(eeg, "info") and hasattr(eeg, "annotations"):  # mne Raw
        raw = eeg
    else:
        raw = bids.load_eeg(eeg, picks=APPLY_PICKS)
    if label is None:
        files = [f for f in (getattr(raw, "filenames", None) or []) if f]
        label = files[0].name if files else "EEG"
    return raw, label, line, reference, tr


def _by_position(estimator, raw, label):
    """A model without channel names: the recording's channels, as they are."""
    from .exceptions import DataError

    n_model = int(estimator.input_shape_[1])
    if len(raw.ch_names) != n_model:
        raise DataError(
            f"{label}: {len(raw.ch_names)} channels, but the model (a model file "
            f"without channel names) takes {n_model} channels by position; refit it "
            "on build_dataset() output to apply it to other caps"
        )
    logger.warning(
        "%s: the model records no channel names; its %d channels are taken by "
        "position (%s...)", label, n_model, ", ".join(raw.ch_names[:4]),
    )
    return raw


def _check_tr(tr, spec, label):
    from .exceptions import DataError

    if spec is None:
        return tr
    if tr is not None and not np.isclose(float(tr), spec.tr, rtol=1e-6):
        raise DataError(
            f"{label}: TR {float(tr):g} s, but the model's spectra are {spec.tr:g}-s "
            f"windows (its training TR); a model applies at its own TR only"
        )
    return spec.tr


# ----------------------------------------------------------------------- public


def synthesize_run(
    estimator,
    eeg,
    *,
    tr=None,
    n_volumes=None,
    params=None,
    marker="auto",
    max_interpolated=0.25,
    label=None,
    line_freq=None,
):
    """Synthesize every volume an EEG recording covers.

    Parameters
    ----------
    estimator : fitted estimator
        :class:`~eeg2fmri.Spec2VolEstimator`, :class:`~eeg2fmri.BandPowerRidge`,
        ... (``load_model(path)`` of a saved model).
    eeg : mne.io.Raw, path-like, mne_bids.BIDSPath, bids.layout.BIDSFile, PairedRun \
or EEGRun
        The recording (any format :func:`eeg2fmri.bids.load_eeg` reads).
    tr : float, optional
        Repetition time in seconds; must equal the model's (default) when the model
        knows it, needed for older model files.
    n_volumes : int, optional
        Volumes to synthesize (default: a PairedRun's BOLD length, else every volume
        the EEG covers).
    params : FeatureParams, optional
        Preprocessing; default ``estimator.feature_params_``.
    marker : str, default="auto"
        Volume trigger (:func:`eeg2fmri.bids.find_volume_onsets`); without one,
        volume ``k`` starts ``k * TR`` after EEG sample 0.
    max_interpolated : float, default=0.25
        Largest fraction of the model's channels that may be interpolated
        (:func:`eeg2fmri.spaces.conform_raw`).
    label : str, optional
        Name of the recording in messages (default: a run's label, else the file).
    line_freq : float, optional
        Power-line frequency of the recording (default: a run's sidecar, else
        ``raw.info["line_freq"]``).

    Returns
    -------
    run : SynthesizedRun

    Raises
    ------
    DataError
        The recording cannot be put into the model's channels (too many missing or
        bad channels, no matching names, too low a sampling rate), or its TR is not
        the model's.
    AlignmentError
        The EEG's volume markers disagree with the TR.
    """
    from sklearn.utils.validation import check_is_fitted

    from .bids import find_volume_onsets
    from .exceptions import DataError
    from .features import compute_window_spectra, whole_run_contexts
    from .features.spectra import make_window_grid
    from .spaces import conform_raw

    check_is_fitted(estimator)
    params = _feature_params(estimator, params)
    raw, found_label, line, reference, run_tr = _open_eeg(eeg)
    label = label or found_label
    line = line_freq if line_freq is not None else line
    spec = getattr(estimator, "eeg_spec_", None)
    tr = _check_tr(tr if tr is not None else run_tr, spec, label)
    if tr is None:
        raise ValueError(
            f"tr: the model records no TR; give tr= (seconds) for {label}"
        )
    conformed = None
    if spec is not None:
        conformed = conform_raw(
            raw, spec, max_interpolated=max_interpolated, source=label, line_freq=line
        )
        raw = conformed.raw
    else:
        raw = _by_position(estimator, raw, label)
    if n_volumes is None and reference is not None:
        import nibabel as nib

        shape = nib.load(reference).shape
        n_volumes = int(shape[3]) if len(shape) == 4 else None
    found = find_volume_onsets(
        raw, tr=tr, marker=marker, n_volumes=n_volumes, run_label=label,
        fallback="quiet",
    )
    onsets = np.asarray(found.onsets, dtype=np.float64)
    if n_volumes is not None:
        onsets = onsets[: int(n_volumes)]
    sfreq = float(raw.info["sfreq"])
    data = raw.get_data()
    whole = dataclasses.replace(params, discard_volumes=0)  # every window is context
    grid = make_window_grid(onsets, sfreq, tr, data.shape[-1], whole)
    if grid.n_windows == 0:
        raise DataError(
            f"{label}: the EEG ({data.shape[-1] / sfreq:.1f} s) holds no complete "
            f"{tr:g}-s window"
        )
    spectra = compute_window_spectra(
        data, sfreq, grid.starts, grid.window_length, params
    )
    del data
    if conformed is not None and conformed.imputed:
        means = getattr(estimator, "channel_means_", None)
        for name in conformed.imputed:
            c = spec.ch_names.index(name)
            spectra[:, c, :] = 0.0 if means is None else means[c]
    n_ctx = params.n_context_for(tr)
    n_frames = len(onsets)
    X, available = whole_run_contexts(spectra, grid.first_window, n_ctx, n_frames)
    n_short = int(np.sum(available < n_ctx))
    if n_short:
        logger.info(
            "%s: %d of %d frames have an incomplete EEG context (run start); their "
            "missing windows hold the recording's mean spectrum", label, n_short,
            n_frames,
        )
    pred = np.asarray(estimator.predict(X), dtype=np.float32)
    pred = pred.reshape(n_frames, *estimator.output_shape_)
    units = _SHORT_UNITS.get(
        getattr(estimator, "target_scaling", "volume"), _SHORT_UNITS["volume"]
    )
    return SynthesizedRun(
        volumes=pred,
        tr=float(tr),
        onsets=onsets,
        context_windows=available,
        n_context=n_ctx,
        timing="markers" if found.source == "markers" else "eeg-start",
        marker=found.marker,
        conformed=conformed,
        label=label,
        units=units,
    )


def _output_affine(estimator, reference, affine):
    """The affine of the output grid: given, the reference's, or the model's."""
    from .features.resample import resampled_affine

    output_shape = tuple(int(s) for s in estimator.output_shape_)
    if affine is not None:
        affine = np.asarray(affine, dtype=float)
        if affine.shape != (4, 4):
            raise ValueError(f"affine must have shape (4, 4), got {affine.shape}")
        return affine
    ref = _reference_image(reference)
    if ref is not None:
        shape = ref.shape
        native = (int(shape[2]), int(shape[0]), int(shape[1]))
        affine = np.asarray(ref.affine, dtype=float)
        return affine if native == output_shape else resampled_affine(
            affine, native, output_shape
        )
    space = getattr(estimator, "output_space_", None)
    if space is not None:
        return np.asarray(space.affine, dtype=float)
    raise ValueError(
        "reference: no output grid; the model file records none (an older format, or "
        "a model fitted on plain arrays): give a reference BOLD image (or a PairedRun) "
        "or an affine"
    )


def synthesize_image(
    estimator,
    eeg,
    reference=None,
    *,
    tr=None,
    affine=None,
    params=None,
    marker="auto",
    max_interpolated=0.25,
    return_volume_indices=False,
    return_run=False,
):
    """Synthesize the BOLD of one EEG recording as a 4-D NIfTI image.

    Works from the EEG alone for a model fitted on
    :func:`~eeg2fmri.features.build_dataset` output (or saved by the BIDS-App): the
    model knows its channels, TR, grid and units. See :func:`synthesize_run` for what
    is done to the recording.

    Parameters
    ----------
    estimator : fitted estimator
        :class:`~eeg2fmri.Spec2VolEstimator`, :class:`~eeg2fmri.BandPowerRidge`, ...
        (``load_model(path)`` of a saved model).
    eeg : mne.io.Raw, path-like, mne_bids.BIDSPath, bids.layout.BIDSFile, PairedRun \
or EEGRun
        The recording. A :class:`~eeg2fmri.bids.PairedRun` also gives the reference
        BOLD (its grid and number of volumes) and the TR.
    reference : path-like, BIDSPath, BIDSFile or nibabel image, optional
        A BOLD image on the grid to write (rescaled to ``output_shape_`` over the
        same field of view when the model's grid differs); its 4th dimension is the
        number of volumes. Default: the model's grid (``output_space_``).
    tr : float, optional
        Repetition time (s); default the model's (older model files: a PairedRun's,
        or the reference header's).
    affine : array-like of shape (4, 4), optional
        Voxel-to-mm affine of the output grid, instead of the reference's or the
        model's.
    params : FeatureParams, optional
        Preprocessing of the EEG; default ``estimator.feature_params_``.
    marker : str, default="auto"
        Volume trigger in the EEG; without one, volume ``k`` starts ``k * TR``
        after EEG sample 0.
    max_interpolated : float, default=0.25
        Largest fraction of the model's channels that may be interpolated.
    return_volume_indices : bool, default=False
        Also return the 0-based volume of each frame (``0 .. n_frames - 1``).
    return_run : bool, default=False
        Also return the :class:`SynthesizedRun` (timing, context completeness,
        channel adaptations).

    Returns
    -------
    img : nibabel.Nifti1Image
        (x, y, z, n_frames) float32, one frame per volume the EEG covers (frames
        with an incomplete EEG context at the run start included; see
        ``run.context_complete``). ``zooms[3]`` = TR, units ``("mm", "sec")``,
        ``header["descrip"]`` names the intensity units.
    volume_indices : ndarray of int
        Only with ``return_volume_indices=True``.
    run : SynthesizedRun
        Only with ``return_run=True``.

    Raises
    ------
    ValueError
        No grid (neither the model's nor ``reference`` nor ``affine``), no TR, or
        no feature parameters.
    DataError, AlignmentError
        See :func:`synthesize_run`.

    Examples
    --------
    >>> img = synthesize_image(load_model("model.json"), "sub-05_task-rest_eeg.vhdr")
    ... # doctest: +SKIP
    >>> NiftiMasker(mask_img=...).fit_transform(img).shape  # doctest: +SKIP
    (n_frames, n_voxels)
    """
    from sklearn.utils.validation import check_is_fitted

    from ._version import __version__
    from .bids.bold import header_tr
    from .bids.derivatives import volumes_to_nifti_image

    check_is_fitted(estimator)
    if len(tuple(getattr(estimator, "output_shape_", ()))) != 3:
        raise ValueError(
            "estimator: expected a model of volumes (output_shape_ = (D, H, W)), got "
            f"output_shape_={getattr(estimator, 'output_shape_', None)!r}"
        )
    if reference is None and hasattr(eeg, "bold_path"):
        reference = eeg.bold_path
    out_affine = _output_affine(estimator, reference, affine)
    n_volumes = None
    ref = _reference_image(reference)
    if ref is not None and len(ref.shape) == 4:
        n_volumes = int(ref.shape[3])
        if tr is None and getattr(estimator, "eeg_spec_", None) is None:
            tr = getattr(eeg, "tr", None) or header_tr(ref.header, "reference")
    run = synthesize_run(
        estimator, eeg, tr=tr, n_volumes=n_volumes, params=params, marker=marker,
        max_interpolated=max_interpolated,
    )
    img = volumes_to_nifti_image(run.volumes, out_affine, run.tr)
    img.header["descrip"] = f"eeg2fmri {__version__} synthesized BOLD, {run.units}"[
        :79
    ]
    out = [img]
    if return_volume_indices:
        out.append(np.arange(run.n_frames))
    if return_run:
        out.append(run)
    return out[0] if len(out) == 1 else tuple(out)
