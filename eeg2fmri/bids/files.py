"""Identity of input files: which files make one EEG recording, and a fingerprint.

A work-dir cache must notice when an input changes: :func:`file_identity` (resolved
path, size, modification time) of every file of a recording
(:func:`eeg_recording_files`: the BrainVision header, markers and data, the EEGLAB
``.set`` and ``.fdt``...) is part of every cache key.
"""

from pathlib import Path

__all__ = ["EEG_COMPANION_EXTENSIONS", "eeg_recording_files", "file_identity"]

#: Extensions of the files that belong to one EEG recording.
EEG_COMPANION_EXTENSIONS = (".vhdr", ".vmrk", ".eeg", ".set", ".fdt", ".edf", ".bdf")


def file_identity(path):
    """``[resolved path, size in bytes, modification time in ns]`` of a file."""
    path = Path(path)
    st = path.stat()
    return [str(path.resolve()), st.st_size, st.st_mtime_ns]


def eeg_recording_files(eeg_path):
    """The EEG file and its companions that exist (BrainVision .vmrk/.eeg, .fdt).

    Parameters
    ----------
    eeg_path : str or Path

    Returns
    -------
    files : list of Path
        ``eeg_path`` first.
    """
    eeg_path = Path(eeg_path)
    files = [eeg_path]
    for ext in EEG_COMPANION_EXTENSIONS:
        other = eeg_path.with_suffix(ext)
        if other != eeg_path and other.is_file():
            files.append(other)
    return files
