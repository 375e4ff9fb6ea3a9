"""What :func:`~eeg2fmri.bids.find_paired_runs` returns: runs and the pairing report.

A run is known by the five entities an EEG and a BOLD file must share to be one
simultaneous recording (subject, session, task, acquisition, run); :class:`PairedRun`,
:class:`EEGRun` and :class:`UnpairedRun` hold them (as their first five fields) with
the files found, and :class:`PairingReport` gathers them. The classes are also
importable from :mod:`eeg2fmri.bids.discovery`.
"""

import functools
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._utils.logging import logger
from ..exceptions import DataError, MissingInputError
from ._scanning import PAIR_ENTITIES
from .interop import to_bids_path

__all__ = ["PairedRun", "EEGRun", "UnpairedRun", "PairingReport"]

#: File-name keys of the pairing entities -> pybids long names (the field names).
_LONG = {
    "sub": "subject",
    "ses": "session",
    "task": "task",
    "acq": "acquisition",
    "run": "run",
}


def _label(entities, keys=PAIR_ENTITIES):
    return "_".join(f"{k}-{entities[k]}" for k in keys if entities.get(k) is not None)


def run_fields(entities):
    """The pairing-entity fields of a run from a file's entities.

    Parameters
    ----------
    entities : dict
        File-name entities of an EEG or BOLD file (``{"sub": "01", "task": "rest",
        ...}``, as parsed from its name).

    Returns
    -------
    fields : dict
        ``subject``, ``session``, ``task``, ``acquisition`` and ``run`` (None where
        the entity is absent), the keyword arguments the run classes start with.
    """
    return {_LONG[k]: entities.get(k) for k in PAIR_ENTITIES}


@dataclass(frozen=True)
class _RunEntities:
    """The pairing entities of a run, and the names derived from them."""

    subject: str
    session: str | None
    task: str | None
    acquisition: str | None
    run: str | None

    def _pair_values(self):
        """Short entity name -> value (or None) of the pairing entities."""
        return {k: getattr(self, _LONG[k]) for k in PAIR_ENTITIES}

    @property
    def entities(self):
        """The pairing entities with pybids long names, absent ones left out (dict)."""
        return {_LONG[k]: v for k, v in self._pair_values().items() if v is not None}

    @property
    def label(self):
        """BIDS basename prefix of the run (str), e.g.
        ``"sub-01_ses-1_task-rest_run-1"`` or ``"sub-01_task-rest"``."""
        return _label(self._pair_values())


@dataclass(frozen=True)
class PairedRun(_RunEntities):
    """One run recorded with both EEG and BOLD.

    Attributes
    ----------
    subject, session, task, acquisition, run : str or None
        Entities shared by both files (labels without ``sub-`` etc.; ``run`` as written
        in the BOLD file name). None when the entity is absent.
    eeg_path : Path
        EEG data file (``.vhdr``, ``.edf``, ``.bdf`` or ``.set``).
    bold_path : Path
        BOLD NIfTI file.
    bold_metadata : dict
        Merged ``*_bold.json`` sidecars (inheritance applied): ``RepetitionTime``,
        ``SliceTiming``, ...
    eeg_metadata : dict
        Merged ``*_eeg.json`` sidecars of the dataset the EEG comes from.
    """

    eeg_path: Path
    bold_path: Path
    bold_metadata: dict = field(default_factory=dict, compare=False, repr=False)
    eeg_metadata: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def eeg_bids_path(self):
        """The EEG file as an :class:`mne_bids.BIDSPath` (for
        :func:`mne_bids.read_raw_bids`)."""
        return to_bids_path(self.eeg_path)

    @property
    def bold_bids_path(self):
        """The BOLD file as an :class:`mne_bids.BIDSPath`."""
        return to_bids_path(self.bold_path)

    @functools.cached_property
    def tr(self):
        """Repetition time in seconds (float).

        From the merged sidecars' ``RepetitionTime``; when absent, from the NIfTI header
        (see :func:`eeg2fmri.bids.bold.header_tr`). Raises DataError naming the file
        when neither has it.
        """
        from .bold import header_tr, normalize_tr

        value = self.bold_metadata.get("RepetitionTime")
        if value is not None:
            return normalize_tr(
                value, f"RepetitionTime of the sidecars of {self.bold_path}"
            )
        import nibabel as nib

        try:
            header = nib.load(self.bold_path).header
        except Exception as err:
            raise MissingInputError(
                f"cannot read the NIfTI header of {self.bold_path}: {err}"
            ) from None
        tr = header_tr(header, self.bold_path)
        if tr is None:
            raise DataError(
                f"no RepetitionTime for {self.bold_path}: none in its sidecars and the "
                "NIfTI header's pixdim[4] is not set"
            )
        logger.info(
            "%s: no RepetitionTime in the sidecars; using the NIfTI header's TR %.4g s",
            self.label,
            tr,
        )
        return tr

    @property
    def slice_timing(self):
        """``SliceTiming`` from the sidecars as a float array (s), or None."""
        st = self.bold_metadata.get("SliceTiming")
        return None if st is None else np.asarray(st, dtype=float)


@dataclass(frozen=True)
class EEGRun(_RunEntities):
    """One EEG run without BOLD (recorded outside the scanner, or its fMRI is absent).

    A model trained on simultaneous EEG-fMRI synthesizes its BOLD
    (:func:`eeg2fmri.synthesize_image`, the BIDS-App with ``--model``); nothing can be
    trained on it.

    Attributes
    ----------
    subject, session, task, acquisition, run : str or None
        Entities of the EEG file (labels without prefixes).
    eeg_path : Path
        EEG data file (``.vhdr``, ``.edf``, ``.bdf`` or ``.set``).
    eeg_metadata : dict
        Merged ``*_eeg.json`` sidecars (inheritance applied): ``SamplingFrequency``,
        ``PowerLineFrequency``...
    """

    eeg_path: Path
    eeg_metadata: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def eeg_bids_path(self):
        """The EEG file as an :class:`mne_bids.BIDSPath`."""
        return to_bids_path(self.eeg_path)


@dataclass(frozen=True)
class UnpairedRun(_RunEntities):
    """A run that could not be paired, and why.

    Attributes
    ----------
    subject, session, task, acquisition, run : str or None
        Entities of the run.
    modality : {"eeg", "bold"}
        Which data the run has.
    paths : tuple of Path
        The file(s) found.
    reason : str
        Why it is unpaired (no partner, or several candidate files).
    """

    modality: str
    paths: tuple
    reason: str


@dataclass
class PairingReport:
    """What :func:`find_paired_runs` found.

    Attributes
    ----------
    runs : list of PairedRun
        Paired runs, sorted by subject, session, task, acquisition, run.
    unpaired : list of UnpairedRun
        EEG without BOLD, BOLD without EEG, and runs with ambiguous files.
    participants : list of str
        Labels (without ``sub-``) with at least one paired run.
    bids_dir, eeg_root, bold_root : Path
        The raw dataset and where EEG and BOLD were read from.
    eeg_only : list of EEGRun
        The EEG runs without BOLD (one EEG file each), sorted like ``runs``.
    """

    runs: list
    unpaired: list
    participants: list
    bids_dir: Path
    eeg_root: Path
    bold_root: Path
    eeg_only: list = field(default_factory=list)

    @property
    def eeg_only_participants(self):
        """Labels (without ``sub-``) with at least one EEG-only run (list of str)."""
        return sorted({r.subject for r in self.eeg_only})

    def __len__(self):
        return len(self.runs)

    def __iter__(self):
        return iter(self.runs)

    def summary(self):
        """One line per run: paired runs, then unpaired ones with their reason (str)."""
        lines = [
            f"{len(self.runs)} paired run(s) for {len(self.participants)} "
            "participant(s)"
        ]
        lines += [
            f"  paired    {r.label}: {r.eeg_path.name} + {r.bold_path.name}"
            for r in self.runs
        ]
        lines += [
            f"  unpaired  {u.label} ({u.modality}): {u.reason}" for u in self.unpaired
        ]
        return "\n".join(lines)
