"""Write an EEG recording as BrainVision (``.vhdr``, ``.eeg``, ``.vmrk``).

:func:`pybv.write_brainvision` writes the header and the data (float32 µV); the
``.vmrk`` is then replaced by one with vendor-style markers (``Scanner,Scan Start``,
``Response,R128``, ``Pulse Artifact,R``...), whose type pybv cannot choose. Used by the
simulator (raw and clean EEG) and by the artifact correction (the corrected EEG).
"""

from pathlib import Path

import numpy as np

__all__ = ["write_brainvision", "write_vmrk"]

_VMRK_HEADER = (
    "Brain Vision Data Exchange Marker File, Version 1.0",
    "",
    "[Common Infos]",
    "Codepage=UTF-8",
    "DataFile={data_file}",
    "",
    "[Marker Infos]",
    "; Each entry: Mk<Marker number>=<Type>,<Description>,<Position in data points>,",
    "; <Size in data points>, <Channel number (0 = marker is related to all channels)>",
    "; Fields are delimited by commas, some fields might be omitted (empty).",
    '; Commas in type or description text are coded as "\\1".',
    "Mk1=New Segment,,1,1,0",
)


def _escape(text):
    return str(text).replace(",", r"\1")


def write_vmrk(path, data_file, markers):
    """Write a BrainVision marker file.

    Parameters
    ----------
    path : Path
        The ``.vmrk`` file (overwritten).
    data_file : str
        Name of the ``.eeg`` data file it belongs to.
    markers : iterable of (str, str, int)
        ``(type, description, 0-based sample)``; commas are coded as ``\\1``.
    """
    lines = [line.format(data_file=data_file) for line in _VMRK_HEADER]
    lines += [
        f"Mk{i}={_escape(kind)},{_escape(desc)},{int(sample) + 1},1,0"
        for i, (kind, desc, sample) in enumerate(markers, start=2)
    ]
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_brainvision(folder, stem, data, *, sfreq, ch_names, markers):
    """Write ``<stem>.vhdr``, ``<stem>.eeg`` (float32 µV) and ``<stem>.vmrk``.

    Parameters
    ----------
    folder : str or Path
        Existing folder to write into (files there are overwritten).
    stem : str
        File name without extension, e.g. ``sub-01_task-rest_eeg``.
    data : ndarray of shape (n_channels, n_samples)
        EEG in volts.
    sfreq : float
        Sampling frequency in Hz.
    ch_names : list of str
        Channel names, in the order of ``data``'s rows.
    markers : iterable of (str, str, int)
        ``(type, description, 0-based sample)`` of every marker.

    Returns
    -------
    vhdr : Path
    """
    import pybv

    folder = Path(folder)
    pybv.write_brainvision(
        data=np.asarray(data, dtype=np.float32),
        sfreq=sfreq,
        ch_names=list(ch_names),
        fname_base=stem,
        folder_out=str(folder),
        overwrite=True,
        events=None,
        resolution=0.1,
        unit="µV",
        fmt="binary_float32",
    )
    write_vmrk(folder / f"{stem}.vmrk", f"{stem}.eeg", markers)
    return folder / f"{stem}.vhdr"
