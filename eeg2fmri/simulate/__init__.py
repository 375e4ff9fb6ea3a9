"""Simulated simultaneous EEG-fMRI with known ground truth, written as BIDS.

>>> from eeg2fmri.simulate import simulate_dataset
>>> simulate_dataset("sim", preset="noddi", random_state=0)  # doctest: +SKIP

:func:`simulate_eeg_only_dataset` writes the EEG of the same participants "recorded
elsewhere" (another cap, no BOLD in the raw data), for held-out evaluation.

See :func:`simulate_dataset` for the parameters, :data:`SIMULATION_PRESETS` for the
presets (reduced versions of the NODDI, Oddball and CN-EPFL datasets, ``inscanner``,
a raw MR-room recording, and ``realistic``, a coupling that departs from linear),
:mod:`eeg2fmri.simulate.generative` for the generative model,
:mod:`eeg2fmri.simulate.bold_noise` for the BOLD noise of every preset
(``**WHITE_NOISE`` turns it back to white), :mod:`eeg2fmri.simulate.coupling` for
the departures from linear coupling and :mod:`eeg2fmri.simulate.scanner` for the MR
artifacts.
"""

from .bold_noise import measure_bold_noise
from .dataset import simulate_dataset
from .eeg_only import simulate_eeg_only_dataset
from .generative import NETWORKS, canonical_hrf
from .presets import SIMULATION_PRESETS, WHITE_NOISE, SimulationPreset

__all__ = [
    "simulate_dataset",
    "simulate_eeg_only_dataset",
    "SIMULATION_PRESETS",
    "SimulationPreset",
    "WHITE_NOISE",
    "NETWORKS",
    "canonical_hrf",
    "measure_bold_noise",
]
