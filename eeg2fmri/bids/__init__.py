"""BIDS input: find paired EEG/BOLD runs, load them, and put BOLD volumes on the EEG
clock.

- :func:`find_paired_runs` -> :class:`PairingReport` of :class:`PairedRun` (and
  :class:`UnpairedRun`), with inherited sidecar metadata (TR, slice timing).
- :func:`load_eeg` -> preloaded :class:`mne.io.Raw` with the file's own markers.
- :func:`find_volume_onsets` -> :class:`VolumeOnsets` from scanner triggers (or a
  documented fallback); :func:`check_eeg_covers` checks the EEG spans the run.
- :func:`load_bold` -> :class:`BoldRun` with ``.volumes`` (n_volumes, D, H, W) float32;
  :func:`nifti_to_volumes` / :func:`volumes_to_nifti` convert array layouts.
- BIDS derivatives: :class:`DerivativePath`, :func:`write_dataset_description`,
  :func:`write_synthesized_run`, :func:`write_metrics_tsv`,
  :func:`write_correlation_map`, :func:`model_provenance`.
- pybids / mne-bids interop (:mod:`eeg2fmri.bids.interop`): a ``BIDSLayout`` or a
  ``BIDSPath`` wherever a BIDS root is taken, ``BIDSPath``/``BIDSFile`` wherever a
  file is; :func:`to_bids_path` and ``PairedRun.eeg_bids_path`` give mne-bids paths.
"""

from .bold import BoldRun, load_bold, nifti_to_volumes, volumes_to_nifti
from .derivatives import (
    DerivativePath,
    bids_uri,
    file_sha256,
    model_provenance,
    volumes_to_nifti_image,
    write_bidsignore,
    write_correlation_map,
    write_dataset_description,
    write_metrics_tsv,
    write_space_reference,
    write_synthesized_run,
)
from .discovery import find_paired_runs
from .eeg import load_eeg
from .interop import to_bids_path
from .markers import VolumeOnsets, check_eeg_covers, find_volume_onsets
from .runs import EEGRun, PairedRun, PairingReport, UnpairedRun

__all__ = [
    "find_paired_runs",
    "PairedRun",
    "EEGRun",
    "UnpairedRun",
    "PairingReport",
    "load_eeg",
    "to_bids_path",
    "find_volume_onsets",
    "check_eeg_covers",
    "VolumeOnsets",
    "load_bold",
    "BoldRun",
    "nifti_to_volumes",
    "volumes_to_nifti",
    "DerivativePath",
    "bids_uri",
    "file_sha256",
    "model_provenance",
    "volumes_to_nifti_image",
    "write_bidsignore",
    "write_correlation_map",
    "write_dataset_description",
    "write_metrics_tsv",
    "write_synthesized_run",
    "write_space_reference",
]
