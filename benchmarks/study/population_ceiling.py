"""The population ceiling: what a model trained on other participants can reach.

The simulator's ceiling (``desc-ceiling_bold``) passes the EEG-visible drive through
the held-out participant's *own* haemodynamics, coupling sign and vigilance-state
weights. A model trained on other participants knows none of the participant's
haemodynamics and cannot know the sign (nothing in the EEG shows it), though the EEG
does show the state. :class:`PopulationCeiling` is that model given the EEG-visible
drive exactly: a ridge FIR from the lagged ``<network>_ceiling_drive`` truth signals
(the drive after the departures from linear coupling) to the BOLD, fitted on the
training participants, with the training participants' signs unknown too.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from .data import standardize_runs

__all__ = [
    "VARIANTS",
    "PopulationCeiling",
    "drive_tables",
    "lagged",
    "truth_signals",
]

#: What each variant of the truth signal assumes the model knows.
VARIANTS = {
    "sign known": "the EEG-visible drive after the departures (state weights and "
    "the participant's sign included)",
    "sign unknown": "the same drive with a flipped participant's sign undone (what "
    "a model trained across participants assumes)",
    "sign and state unknown": "the drive divided by its signed vigilance-state "
    "weight (a model that gates the coupling by neither)",
}
#: Ridge penalties of the FIR (standardized BOLD, z-unit drives).
ALPHAS = np.logspace(-2, 4, 13)
#: FIR length in volumes: 12 volumes are 26 s at TR 2.16 s (the HRF and its undershoot).
DEFAULT_LAGS = 12


def drive_tables(bids, run_labels):
    """``{run: desc-drives_timeseries table}`` of the simulated runs.

    Raises
    ------
    ValueError
        A table without the ``<network>_ceiling_drive`` columns (a dataset simulated
        before they were written).
    """
    tables = {}
    for run in np.unique(np.asarray(run_labels)):
        sub = run.split("_")[0]
        path = (Path(bids) / "derivatives" / "simulation" / sub / "func"
                / f"{run}_desc-drives_timeseries.tsv")
        table = pd.read_csv(path, sep="\t")
        if not any(c.endswith("_ceiling_drive") for c in table.columns):
            raise ValueError(
                f"{path}: expected '<network>_ceiling_drive' columns, found "
                f"{list(table.columns)}; re-simulate the dataset"
            )
        tables[run] = table
    return tables


def truth_signals(table, variant="sign unknown"):
    """One run's truth signal for a :data:`VARIANTS` key.

    Returns
    -------
    signal : ndarray of shape (n_volumes, K)
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant: expected one of {list(VARIANTS)}, got {variant!r}")
    nets = [c[: -len("_ceiling_drive")] for c in table.columns
            if c.endswith("_ceiling_drive")]
    drive = table[[f"{k}_ceiling_drive" for k in nets]].to_numpy(dtype=float)
    if "vigilance_weight" not in table or variant == "sign known":
        return drive
    weight = table["vigilance_weight"].to_numpy(dtype=float)[:, None]
    if variant == "sign unknown":
        return (np.sign(np.median(weight)) or 1.0) * drive
    return drive / weight


def lagged(signal, volume_index, n_lags):
    """Rows ``[s(v), s(v-1), ..., s(v-n_lags)]``, zeros before the run start.

    Parameters
    ----------
    signal : ndarray of shape (n_volumes, K)
    volume_index : ndarray of int of shape (n,)
    n_lags : int

    Returns
    -------
    rows : ndarray of shape (n, K * (n_lags + 1))
    """
    volume_index = np.asarray(volume_index)
    k = signal.shape[1]
    out = np.zeros((len(volume_index), k * (n_lags + 1)))
    for lag in range(n_lags + 1):
        src = volume_index - lag
        ok = src >= 0
        out[ok, lag * k:(lag + 1) * k] = signal[src[ok]]
    return out


class PopulationCeiling:
    """Ridge FIR from the lagged EEG-visible drive to the BOLD, across participants.

    Each training run's voxels are standardized over time (as
    ``target_scaling='zscore'`` does: the participants' baselines differ far more
    than their BOLD fluctuates); predictions are mapped to intensity with the runs'
    mean voxel-wise mean and root-mean-square temporal standard deviation.

    Parameters
    ----------
    variant : str, default='sign unknown'
        A :data:`VARIANTS` key.
    n_lags : int, default=12
    """

    def __init__(self, variant="sign unknown", n_lags=DEFAULT_LAGS):
        self.variant = variant
        self.n_lags = n_lags

    def features(self, tables, runs, volume_index):
        """The lagged truth signal of every row, (n, K * (n_lags + 1))."""
        runs, volume_index = np.asarray(runs), np.asarray(volume_index)
        out = None
        for run in np.unique(runs):
            rows = np.flatnonzero(runs == run)
            block = lagged(truth_signals(tables[run], self.variant),
                           volume_index[rows], self.n_lags)
            if out is None:
                out = np.zeros((len(runs), block.shape[1]))
            out[rows] = block
        return out

    def fit(self, features, y, runs):
        """Fit the FIR on the training rows.

        Parameters
        ----------
        features : ndarray of shape (n, n_features)
            :meth:`features` of the training rows.
        y : ndarray of shape (n, D, H, W)
        runs : ndarray of shape (n,)
        """
        from sklearn.linear_model import RidgeCV

        z, self.location_, self.scale_ = standardize_runs(y, runs)
        self.ridge_ = RidgeCV(alphas=ALPHAS).fit(features, z.reshape(len(z), -1))
        return self

    def predict(self, features):
        """Predicted volumes, (n, D, H, W) float32."""
        z = self.ridge_.predict(features).reshape(len(features), *self.location_.shape)
        return (self.location_ + self.scale_ * z).astype(np.float32)
