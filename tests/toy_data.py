"""Toy EEG-BOLD pairs shared by the estimator tests (loaded with importlib, like
``bids_builders``): a binary state carried by the first electrodes' low bins picks
one of two BOLD blobs."""

import numpy as np


def state_blobs(n, seed):
    """X (n, 2, 4, 6) whose first electrodes carry a binary state s; y = blob A or B."""
    rng = np.random.default_rng(seed)
    s = rng.integers(0, 2, n).astype(float)
    X = rng.normal(0, 0.3, (n, 2, 4, 6)).astype("float32")
    X[:, :, :2, :3] += 2 * s[:, None, None, None]
    yy, xx = np.mgrid[:8, :8]
    a = np.exp(-((yy - 2) ** 2 + (xx - 2) ** 2) / 4.0)
    b = np.exp(-((yy - 5) ** 2 + (xx - 5) ** 2) / 4.0)
    y = (s[:, None, None] * a + (1 - s[:, None, None]) * b)[:, None] * np.ones(
        (1, 2, 1, 1)
    )
    y = 100 + 50 * y + rng.standard_normal(y.shape)  # scanner-like units
    return X, y.astype("float32")
