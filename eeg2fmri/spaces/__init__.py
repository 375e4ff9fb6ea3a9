"""What a model's input and output are, so that it can be applied anywhere.

- :class:`EEGSpec`: the EEG a model was trained on (channels by name, type and
  position, sampling rate, window length and frequency bins, line frequency).
- :class:`OutputSpace`: the grid it synthesizes on (shape, affine, BIDS ``space``
  label, brain mask, reference mean volume, units, TR).
- :func:`conform_raw`: a recording from another cap, lab or session, put into a
  model's channels (by name, aliases such as T3/T7, spherical-spline interpolation of
  missing or bad electrodes, resampling), every adaptation recorded.
"""

from .channels import (
    CHANNEL_ALIASES,
    ChannelMatch,
    canonical_channel_name,
    match_channels,
)
from .conform import DEFAULT_MAX_INTERPOLATED, Conformed, conform_raw, standard_position
from .eeg import EEGSpec
from .output import TEMPLATE_SPACES, OutputSpace, brain_mask, space_label_of

__all__ = [
    "EEGSpec",
    "OutputSpace",
    "TEMPLATE_SPACES",
    "brain_mask",
    "space_label_of",
    "conform_raw",
    "Conformed",
    "DEFAULT_MAX_INTERPOLATED",
    "standard_position",
    "CHANNEL_ALIASES",
    "canonical_channel_name",
    "match_channels",
    "ChannelMatch",
]
