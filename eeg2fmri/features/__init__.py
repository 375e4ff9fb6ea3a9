"""TR-window EEG spectra, lazy (context, volume) pairs and paired datasets.

- :class:`FeatureParams`: every preprocessing choice (defaults = official code,
  :meth:`FeatureParams.paper` = the paper's text).
- :func:`compute_window_spectra`, :func:`make_window_grid`, :func:`compute_run_spectra`:
  spectra (n_windows, C, F) of TR windows aligned to the volume onsets.
- :class:`ContextPairs`, :class:`VolumeTargets`, :class:`ConcatPairs`: lazy X and y.
- :func:`resample_volumes`: BOLD to another grid (DCT low-pass or linear).
- :func:`build_dataset` -> :class:`PairedDataset`: X, y, groups, provenance of a BIDS
  dataset, with a work-dir cache.
"""

from .dataset import PairedDataset, build_dataset
from .pairs import (
    BOLD_SCALINGS,
    ConcatPairs,
    ContextPairs,
    FrameContexts,
    VolumeTargets,
    whole_run_contexts,
)
from .params import NORMALIZATIONS, FeatureParams
from .resample import RESAMPLE_METHODS, resample_volumes, resampled_affine
from .runs import RunFeatures, checked_eeg, load_run_features
from .spectra import (
    WindowGrid,
    compute_run_spectra,
    compute_window_spectra,
    make_window_grid,
    spectrum_frequencies,
)

__all__ = [
    "FeatureParams",
    "NORMALIZATIONS",
    "build_dataset",
    "PairedDataset",
    "RunFeatures",
    "load_run_features",
    "checked_eeg",
    "WindowGrid",
    "make_window_grid",
    "compute_window_spectra",
    "compute_run_spectra",
    "spectrum_frequencies",
    "ContextPairs",
    "VolumeTargets",
    "ConcatPairs",
    "FrameContexts",
    "whole_run_contexts",
    "BOLD_SCALINGS",
    "resample_volumes",
    "resampled_affine",
    "RESAMPLE_METHODS",
]
