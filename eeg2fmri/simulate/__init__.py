"""Simulated simultaneous EEG-fMRI with known ground truth, written as BIDS.

>>> from eeg2fmri.simulate import simulate_dataset
>>> simulate_dataset("sim", preset="noddi", random_state=0)  # doctest: +SKIP

See :func:`simulate_dataset` for the parameters, :data:`SIMULATION_PRESETS` for the
three presets (reduced versions of the NODDI, Oddball and CN-EPFL datasets) and
:mod:`eeg2fmri.simulate.generative` for the generative model.
"""

from .dataset import simulate_dataset
from .generative import NETWORKS, canonical_hrf
from .presets import SIMULATION_PRESETS, SimulationPreset

__all__ = [
    "simulate_dataset",
    "SIMULATION_PRESETS",
    "SimulationPreset",
    "NETWORKS",
    "canonical_hrf",
]
