"""The simulated networks (BOLD map centres, EEG signature) and the oddball paradigm."""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["NetworkSpec", "NETWORKS", "ERPS", "oddball_events"]


@dataclass(frozen=True)
class NetworkSpec:
    """One simulated network.

    Parameters
    ----------
    name : str
        Column name in the drives table.
    mni_centers : tuple of (x, y, z)
        Blob centres of the BOLD map in MNI mm.
    band : (float, float)
        EEG frequency band in Hz.
    sign : int
        +1: rhythm amplitude rises with the drive; -1: it falls (alpha blocking).
    eeg_centers : tuple of str
        Electrodes under which the rhythm's topography peaks.
    amplitude : float
        Rhythm amplitude (µV RMS at the topography peak).
    event_weights : dict
        Drive added for 1 s after each stimulus, per stimulus kind.
    """

    name: str
    mni_centers: tuple
    band: tuple
    sign: int
    eeg_centers: tuple
    amplitude: float
    event_weights: dict = field(default_factory=dict)

    def to_dict(self):
        """Return a JSON-serialisable description."""
        return {
            "name": self.name,
            "band_hz": list(self.band),
            "sign": self.sign,
            "eeg_centers": list(self.eeg_centers),
            "amplitude_uv": self.amplitude,
            "mni_centers_mm": [list(c) for c in self.mni_centers],
            "event_weights": dict(self.event_weights),
        }


#: Library of networks; a dataset with ``n_networks = K`` uses the first K.
NETWORKS = (
    NetworkSpec(
        "visual",
        ((-10, -90, 4), (10, -90, 4), (0, -78, 10)),
        (8.0, 12.0),
        -1,
        ("O1", "Oz", "O2"),
        12.0,
    ),
    NetworkSpec(
        "motor", ((-38, -22, 56), (38, -22, 56)), (15.0, 25.0), -1, ("C3", "C4"), 4.0
    ),
    NetworkSpec(
        "default_mode",
        ((0, -54, 28), (0, 50, -4), (-46, -66, 32), (46, -66, 32)),
        (4.0, 7.0),
        -1,
        ("Fz", "FCz"),
        5.0,
        {"target": -1.0},
    ),
    NetworkSpec(
        "frontal",
        ((-42, 30, 30), (42, 30, 30)),
        (30.0, 45.0),
        1,
        ("AF3", "AF4", "F3", "F4"),
        2.0,
        {"target": 2.0, "standard": 0.3},
    ),
    NetworkSpec(
        "auditory",
        ((-54, -20, 8), (54, -20, 8)),
        (12.0, 15.0),
        -1,
        ("T7", "T8", "FC5", "FC6"),
        3.0,
        {"target": 1.0, "standard": 0.5},
    ),
    NetworkSpec(
        "dorsal_attention",
        ((-26, -60, 52), (26, -60, 52)),
        (25.0, 30.0),
        1,
        ("P3", "P4", "PO3", "PO4"),
        2.0,
        {"target": 1.0},
    ),
)

#: ERPs of the oddball paradigm: (stimulus kinds, electrodes, µV, latency s, width s).
ERPS = (
    (("standard", "target"), ("Cz", "FCz"), -5.0, 0.10, 0.025),
    (("target",), ("Pz", "CPz"), 10.0, 0.35, 0.07),
)


def oddball_events(rng, start, stop, isi, target_fraction):
    """Stimulus onsets (s) and kinds between ``start`` and ``stop``."""
    onsets, t = [], start
    while t < stop:
        onsets.append(t)
        t += isi * rng.uniform(0.8, 1.2)
    onsets = np.asarray(onsets)
    is_target = rng.random(len(onsets)) < target_fraction
    kinds = np.where(is_target, "target", "standard")
    return onsets, kinds
