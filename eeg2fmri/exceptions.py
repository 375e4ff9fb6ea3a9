"""Exceptions raised by eeg2fmri, each mapped to a BIDS-App exit code.

Every error message is one line that names the file or parameter, what was expected
and what was found. The BIDS-App turns these exceptions into the exit codes of the
BIDS-Apps execution spec (see ``EXIT_CODES``) without printing a traceback.
"""

import os

__all__ = [
    "Eeg2fmriError",
    "InvalidDatasetError",
    "NoMatchingDataError",
    "MissingInputError",
    "AlignmentError",
    "DataError",
    "ModelFileError",
    "BaselineWarning",
    "EXIT_CODES",
]

#: BIDS-Apps execution spec exit codes (bids-standard/execution-spec, outputs.md).
EXIT_CODES = {
    "success": 0,
    "invalid_dataset": 16,
    "unknown_level": 17,
    "no_matching_data": 18,
    "usage": getattr(os, "EX_USAGE", 64),
    "data_error": getattr(os, "EX_DATAERR", 65),
    "missing_input": getattr(os, "EX_NOINPUT", 66),
    "software_error": getattr(os, "EX_SOFTWARE", 70),
}


class Eeg2fmriError(Exception):
    """Base class of every error eeg2fmri raises on purpose."""

    exit_code = EXIT_CODES["software_error"]


class InvalidDatasetError(Eeg2fmriError, ValueError):
    """The input is not a usable BIDS dataset (missing description, bad names)."""

    exit_code = EXIT_CODES["invalid_dataset"]


class NoMatchingDataError(Eeg2fmriError, LookupError):
    """The selection (participants, sessions, tasks, filters) matched no paired run."""

    exit_code = EXIT_CODES["no_matching_data"]


class MissingInputError(Eeg2fmriError, FileNotFoundError):
    """A file the dataset needs is absent, empty or unreadable."""

    exit_code = EXIT_CODES["missing_input"]


class DataError(Eeg2fmriError, ValueError):
    """A file is present but its content is not usable (NaNs, missing TR, corrupt)."""

    exit_code = EXIT_CODES["data_error"]


class AlignmentError(DataError):
    """EEG and BOLD of a run cannot be aligned (triggers vs TR, EEG too short)."""


class ModelFileError(Eeg2fmriError, ValueError):
    """A model file is missing, was not written by eeg2fmri, or does not fit."""

    exit_code = EXIT_CODES["missing_input"]


class BaselineWarning(UserWarning):
    """A fitted model scored below a simpler baseline on its validation participants.

    Issued by :meth:`eeg2fmri.Spec2VolEstimator.fit` (``baseline_check``); the message
    names the better choice. Filter it like any warning
    (``warnings.simplefilter("ignore", BaselineWarning)``).
    """
