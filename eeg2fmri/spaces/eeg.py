"""The EEG a model was trained on: :class:`EEGSpec`.

A model file carries what applying it to another recording needs to know about its
input: the channels by name and type, in training order (and their positions when the
training recordings had them), the sampling rate and window length behind the
frequency bins, and the power-line frequency. :func:`eeg2fmri.spaces.conform_raw`
puts a recording into these channels.
"""

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["EEGSpec"]


def _positions_tuple(positions, n):
    if positions is None:
        return None
    arr = np.asarray(positions, dtype=np.float64)
    if arr.shape != (n, 3):
        raise ValueError(
            f"EEGSpec.positions: expected shape ({n}, 3) (one x, y, z per channel, "
            f"metres, NaN when unknown), found {arr.shape}"
        )
    if not np.isfinite(arr).any():
        return None
    return tuple(tuple(float(v) for v in row) for row in arr)


@dataclass(frozen=True)
class EEGSpec:
    """Channels, sampling rate and frequency grid of a model's EEG input.

    Parameters
    ----------
    ch_names : tuple of str
        Channel names in training order (the channel axis of ``X``).
    ch_types : tuple of str
        MNE channel type of each (``"eeg"``, ``"ecg"``...).
    sfreq : float
        Sampling frequency (Hz) of the EEG the spectra were computed from.
    tr : float
        Repetition time (s) = window length of the spectra; the window has
        ``round(tr * sfreq)`` samples.
    frequencies : tuple of float
        Frequency (Hz) of each bin of ``X``'s last axis.
    line_freq : float, optional
        Power-line frequency (Hz) of the training recordings.
    positions : tuple of (x, y, z) or None
        Electrode positions (head frame, metres; NaN when unknown) from the training
        recordings' montage, or None when they had none.

    Examples
    --------
    >>> spec = EEGSpec(("Cz", "Pz"), ("eeg", "eeg"), 250.0, 2.0, (0.5, 1.0))
    >>> spec.n_channels, spec.max_frequency
    (2, 1.0)
    >>> EEGSpec.from_dict(spec.to_dict()) == spec
    True
    """

    ch_names: tuple
    ch_types: tuple
    sfreq: float
    tr: float
    frequencies: tuple
    line_freq: float | None = None
    positions: tuple | None = None

    def __post_init__(self):
        names = tuple(str(n) for n in self.ch_names)
        types = tuple(str(t) for t in self.ch_types)
        if not names:
            raise ValueError("EEGSpec.ch_names: expected at least one channel, got 0")
        if len(types) != len(names):
            raise ValueError(
                f"EEGSpec.ch_types: expected {len(names)} types (one per channel), "
                f"found {len(types)}"
            )
        for name, value in (("sfreq", self.sfreq), ("tr", self.tr)):
            if not (isinstance(value, int | float) and math.isfinite(value)
                    and value > 0):
                raise ValueError(
                    f"EEGSpec.{name}: expected a positive number, found {value!r}"
                )
        freqs = tuple(float(f) for f in np.ravel(self.frequencies))
        line = None if self.line_freq is None else float(self.line_freq)
        object.__setattr__(self, "ch_names", names)
        object.__setattr__(self, "ch_types", types)
        object.__setattr__(self, "sfreq", float(self.sfreq))
        object.__setattr__(self, "tr", float(self.tr))
        object.__setattr__(self, "frequencies", freqs)
        object.__setattr__(self, "line_freq", line)
        object.__setattr__(
            self, "positions", _positions_tuple(self.positions, len(names))
        )

    def __repr__(self):
        names = list(self.ch_names)
        shown = ", ".join(names if len(names) <= 6 else [*names[:4], "...", names[-1]])
        freqs = (
            f"{min(self.frequencies):.3g}-{self.max_frequency:.3g} Hz"
            if self.frequencies else "no bins"
        )
        return (
            f"<EEGSpec {self.n_channels} channels ({shown}) at {self.sfreq:g} Hz, "
            f"TR {self.tr:g} s, {len(self.frequencies)} bins {freqs}, positions "
            f"{'yes' if self.positions is not None else 'no'}>"
        )

    @property
    def n_channels(self):
        """Number of channels (int)."""
        return len(self.ch_names)

    @property
    def window_length(self):
        """Samples per spectrum window, ``round(tr * sfreq)`` (int)."""
        return int(round(self.tr * self.sfreq))

    @property
    def max_frequency(self):
        """Highest frequency bin in Hz (float); 0 when there are no bins."""
        return max(self.frequencies, default=0.0)

    def position_array(self):
        """Positions as an array of shape (n_channels, 3), NaN when unknown."""
        if self.positions is None:
            return np.full((self.n_channels, 3), np.nan)
        return np.asarray(self.positions, dtype=np.float64)

    def to_dict(self):
        """JSON-serialisable description (positions as lists or None)."""
        return {
            "ch_names": list(self.ch_names),
            "ch_types": list(self.ch_types),
            "sfreq": self.sfreq,
            "tr": self.tr,
            "frequencies": list(self.frequencies),
            "line_freq": self.line_freq,
            "positions": None
            if self.positions is None
            else [
                [None if math.isnan(v) else v for v in row] for row in self.positions
            ],
        }

    @classmethod
    def from_dict(cls, d):
        """Rebuild from :meth:`to_dict` output.

        Parameters
        ----------
        d : dict

        Returns
        -------
        spec : EEGSpec
        """
        positions = d.get("positions")
        if positions is not None:
            positions = [[np.nan if v is None else v for v in row] for row in positions]
        return cls(
            tuple(d["ch_names"]),
            tuple(d["ch_types"]),
            d["sfreq"],
            d["tr"],
            tuple(d.get("frequencies") or ()),
            d.get("line_freq"),
            positions,
        )

    @classmethod
    def from_info(cls, info, *, tr, frequencies, line_freq=None):
        """The spec of an :class:`mne.Info` (names, types, positions, sfreq).

        Parameters
        ----------
        info : mne.Info
        tr : float
            Window length (s) of the spectra.
        frequencies : array-like of float
            Frequency (Hz) of each spectrum bin.
        line_freq : float, optional
            Defaults to ``info["line_freq"]``.

        Returns
        -------
        spec : EEGSpec
        """
        from mne import channel_type

        names = tuple(info["ch_names"])
        types = tuple(channel_type(info, i) for i in range(len(names)))
        positions = np.array([ch["loc"][:3] for ch in info["chs"]], dtype=np.float64)
        positions[~np.isfinite(positions).all(axis=1)] = np.nan
        positions[np.all(positions == 0, axis=1)] = np.nan  # MNE's "no position"
        if line_freq is None:
            line_freq = info.get("line_freq")
        return cls(names, types, float(info["sfreq"]), tr, frequencies, line_freq,
                   positions)
