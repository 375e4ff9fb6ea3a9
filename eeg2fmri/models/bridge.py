"""A global bridge from EEG features to volumes: latent time courses x spatial maps.

Why it exists (``docs/why_models_fail.rst``): the Spec2VolCAMU-Net topology pads the
encoder's (electrodes x frequency) feature plane into the decoder's image grid, so an
output voxel sees only the features that happen to land near it, and the encoder's
post-norm LayerNorms remove most of the band-power level the targets depend on. The
BOLD fluctuations that EEG can predict are, to a good approximation, a few shared time
courses (one per network) times fixed spatial maps. :class:`GlobalBridge` builds that
structure into the network:

1. learned band pooling of the frequency axis (``n_freqs -> n_bands``, initialised as
   averages over contiguous bins);
2. one linear readout of all (channel, electrode, band) features to ``n_latents``
   latent values per sample: the latent time courses, across samples;
3. one learned spatial map per latent (``(n_latents, D, H, W)``, zero-initialised, so
   that the bridge starts by predicting 0 and learns only what reduces the loss).

The output is ``sum_k z_k * map_k``, added to the decoder's output.
"""

import torch
from torch import nn

__all__ = ["GlobalBridge", "band_average_matrix"]


def band_average_matrix(n_freqs, n_bands):
    """Averaging matrix over contiguous bins, shape (n_freqs, n_bands).

    Parameters
    ----------
    n_freqs : int
        Frequency bins.
    n_bands : int
        Bands; ``min(n_bands, n_freqs)`` columns are built.

    Returns
    -------
    Tensor of shape (n_freqs, min(n_bands, n_freqs))
        Column ``j`` averages bins ``edges[j] .. edges[j + 1] - 1`` with evenly spaced
        edges; every bin belongs to exactly one band.
    """
    n_bands = min(int(n_bands), int(n_freqs))
    edges = torch.linspace(0, n_freqs, n_bands + 1).round().long().tolist()
    pool = torch.zeros(n_freqs, n_bands)
    for j in range(n_bands):
        lo, hi = edges[j], max(edges[j + 1], edges[j] + 1)
        pool[lo:hi, j] = 1.0 / (hi - lo)
    return pool


class GlobalBridge(nn.Module):
    """Latent time courses pooled from EEG features, each with a learned spatial map.

    Parameters
    ----------
    in_chans : int
        Feature channels N of the input ``(batch, N, n_electrodes, n_freqs)``.
    n_electrodes : int
        Electrode rows of the input.
    n_freqs : int
        Frequency bins of the input.
    out_shape : tuple of int (D, H, W)
        Output volume shape.
    n_latents : int, default=8
        Number of latent time courses K.
    n_bands : int, default=32
        Learned frequency bands (at most ``n_freqs``).

    Attributes
    ----------
    band_pool : Parameter of shape (n_freqs, n_bands)
    readout : nn.Linear
        ``N * n_electrodes * n_bands -> K``.
    maps : Parameter of shape (K, D, H, W)
        Zero at initialisation.
    """

    def __init__(
        self, in_chans, n_electrodes, n_freqs, out_shape, n_latents=8, n_bands=32
    ):
        super().__init__()
        self.band_pool = nn.Parameter(band_average_matrix(n_freqs, n_bands))
        n_features = in_chans * n_electrodes * self.band_pool.shape[1]
        self.readout = nn.Linear(n_features, n_latents)
        self.maps = nn.Parameter(torch.zeros(n_latents, *out_shape))

    @property
    def n_latents(self):
        """Number of latent time courses K."""
        return self.maps.shape[0]

    def latents(self, feats):
        """Latent values of each sample.

        Parameters
        ----------
        feats : Tensor of shape (batch, N, n_electrodes, n_freqs)

        Returns
        -------
        Tensor of shape (batch, K)
        """
        pooled = torch.matmul(feats, self.band_pool)  # (b, N, C, n_bands)
        return self.readout(pooled.flatten(1))

    def forward(self, feats):
        """feats (batch, N, n_electrodes, n_freqs) -> volumes (batch, D, H, W)."""
        z = self.latents(feats)
        return torch.einsum("bk,kdhw->bdhw", z, self.maps)

    @torch.no_grad()
    def zero_output_(self):
        """Set the spatial maps to zero (the bridge then outputs 0)."""
        self.maps.zero_()
