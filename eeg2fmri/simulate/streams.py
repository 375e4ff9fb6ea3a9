"""Independent random streams of a run, and a slow-noise helper shared by the modules.

Every optional part of the simulation (structured BOLD noise, MR artifacts, vigilance
states, extra channels...) draws from its own :class:`numpy.random.Generator`, seeded
from the run's :class:`~numpy.random.SeedSequence` with an extra spawn-key word, so
that turning a part on or off never changes the draws of the others.
"""

import numpy as np
from scipy import ndimage

__all__ = ["STREAMS", "realism_rng", "slow_noise"]

#: Spawn-key suffixes of the realism streams (appended to the run's spawn key).
STREAMS = {"bold": 1001, "gradient": 1002, "pulse": 1003, "state": 1004}


def realism_rng(seed_sequence, stream):
    """Independent Generator for one realism stream of a run.

    Parameters
    ----------
    seed_sequence : numpy.random.SeedSequence
        The run's seed sequence.
    stream : {"bold", "gradient", "pulse", "state"}

    Returns
    -------
    rng : numpy.random.Generator
        Seeded by ``SeedSequence(entropy, spawn_key=(*spawn_key, code))``: it does
        not consume any draw of the run's main stream.
    """
    ss = np.random.SeedSequence(
        seed_sequence.entropy,
        spawn_key=(*seed_sequence.spawn_key, STREAMS[stream]),
    )
    return np.random.default_rng(ss)


def slow_noise(rng, n, dt, timescale, rows=2):
    """(rows, n) Gaussian low-passed noise (SD ``timescale`` s), z-scored per row."""
    x = ndimage.gaussian_filter1d(
        rng.standard_normal((rows, n)), timescale / dt, axis=-1, mode="wrap"
    )
    return (x - x.mean(-1, keepdims=True)) / np.maximum(x.std(-1, keepdims=True), 1e-12)
