"""What the study runs: datasets, rows, folds and sweeps, each a declarative entry.

- A dataset is a :class:`StudyDataset` in :data:`DATASETS` (how a simulator preset is
  simulated, resampled and split into folds; its ``--quick`` sizes).
- A row is an entry of :data:`ROWS`: a network fitted in a worker
  (:class:`TrainedRow`), a public estimator fitted in the main process
  (:class:`EstimatorRow`), the mean training volume (:class:`MeanVolumeRow`), the
  volume-index null (:class:`TimeOnlyRow`) or volumes the simulator wrote beside the
  data (:class:`SimulatedTruthRow`: ``derivatives/simulation/*_desc-<desc>.nii.gz``).
  Its ``group`` says where it runs (``'main'`` and ``'baseline'``: every dataset;
  ``'ablation'``: the ablation datasets; ``'architecture'``: there with
  ``--ablations all``) and the order of :data:`ROWS` is the order of the tables.
- A sweep is a :class:`Sweep` in :data:`SWEEPS`: one dataset simulated again with one
  setting changed per value (``--sweeps NAME``); each value is a dataset of its own.

Adding one of them is one entry here; nothing else changes.
"""

from dataclasses import dataclass, field, fields, replace

#: The row every other row is compared with (paired tests): the default model.
REFERENCE_ROW = "spec2vol-bridge (default)"
#: Epochs of the default recipe (the estimator's default) and of the paper recipe
#: (10, as the previous study; the official code trains for 50); 1 with ``--quick``.
DEFAULT_EPOCHS = 15
PAPER_EPOCHS = 10
#: Shortest circular shift of the EEG against the BOLD in the null rows (seconds).
NULL_SHIFT_SECONDS = 60.0
#: Bootstrap resamples of the paired differences (95 % CI of the mean difference).
BOOTSTRAP_RESAMPLES = 10_000


# ---------------------------------------------------------------------- datasets


@dataclass(frozen=True)
class StudyDataset:
    """How one simulator preset is simulated and split for the study.

    Parameters
    ----------
    name : str
        The dataset's name in the tables and its work folder ``bids-<name>``.
    preset : str
        Simulator preset (:data:`eeg2fmri.simulate.SIMULATION_PRESETS`).
    n_subjects, n_volumes, n_channels : int
        Participants, volumes per run and EEG channels.
    bold_shape : tuple of int (D, H, W)
        Grid the BOLD is simulated on.
    seed_offset : int
        The dataset's seed is the study's ``--seed`` plus this.
    target_shape : tuple of int, optional
        DCT-resample the BOLD to this grid.
    n_test : int, optional
        Fixed split: the last ``n_test`` participants are the test set.
    n_folds : int, optional
        ``n_folds`` folds of consecutive participants (without ``n_test``); neither:
        leave one participant out at a time.
    n_runs : int, default=1
        Runs per participant.
    simulation : dict
        Other :func:`eeg2fmri.simulate.simulate_dataset` overrides (e.g.
        ``{"bold_noise": 0.02}``).
    quick : dict
        Field values for ``--quick`` (tiny sizes).
    """

    name: str
    preset: str
    n_subjects: int
    n_volumes: int
    n_channels: int
    bold_shape: tuple
    seed_offset: int = 0
    target_shape: tuple | None = None
    n_test: int | None = None
    n_folds: int | None = None
    n_runs: int = 1
    simulation: dict = field(default_factory=dict)
    quick: dict = field(default_factory=dict)

    def sized(self, quick):
        """This dataset at its ``--quick`` sizes (``quick=True``) or as it is."""
        return replace(self, **self.quick, quick={}) if quick else self

    def simulate_kwargs(self, study_seed):
        """Keyword arguments of :func:`eeg2fmri.simulate.simulate_dataset`."""
        return dict(
            preset=self.preset,
            n_subjects=self.n_subjects,
            n_runs=self.n_runs,
            n_volumes=self.n_volumes,
            n_channels=self.n_channels,
            bold_shape=tuple(self.bold_shape),
            random_state=study_seed + self.seed_offset,
            **self.simulation,
        )


_QUICK = dict(
    n_subjects=4, n_volumes=40, n_channels=8, bold_shape=(6, 12, 12), n_folds=2
)

#: CPU-scale versions of the paper's datasets (Table 1 has 16-20 participants,
#: 30 x 64 x 64 volumes, 43-64 electrodes), 12 participants each in 4 folds of 3, and
#: ``realistic``: noddi with every departure from linear coupling on. Every preset has
#: the simulator's realistic BOLD noise (AR, drift, physiology, smooth noise).
_FOLDS = dict(n_folds=4)
DATASETS = {
    spec.name: spec
    for spec in (
        StudyDataset("noddi", "noddi", 12, 120, 32, (16, 32, 32), 0, **_FOLDS,
                     quick=_QUICK),
        StudyDataset("oddball", "oddball", 12, 120, 32, (16, 32, 32), 1, **_FOLDS,
                     quick=_QUICK),
        StudyDataset(
            "cnepfl", "cnepfl", 12, 120, 32, (27, 54, 54), 2,
            target_shape=(16, 32, 32), **_FOLDS,
            quick={**_QUICK, "bold_shape": (9, 18, 18), "target_shape": (6, 12, 12)},
        ),
        StudyDataset("realistic", "realistic", 12, 120, 32, (16, 32, 32), 3, **_FOLDS,
                     quick=_QUICK),
    )
}


# ------------------------------------------------------------------------ sweeps

_DATASET_FIELDS = {f.name for f in fields(StudyDataset)} - {"name", "preset", "quick"}


@dataclass(frozen=True)
class Sweep:
    """One dataset simulated again with one setting changed per value.

    Parameters
    ----------
    dataset : str
        A key of :data:`DATASETS`.
    parameter : str
        A :class:`StudyDataset` field (``n_channels``, ``n_volumes``, ``n_runs``,
        ``bold_shape``, ``seed_offset``, ...) or a ``simulate_dataset`` override
        (``bold_noise``, ...).
    values : tuple
        One variant per value; the value holds with ``--quick`` too.
    """

    dataset: str
    parameter: str
    values: tuple

    def variants(self, datasets=None):
        """``{name: StudyDataset}``, one per value, named ``<dataset>-<param>-<v>``."""
        base = (datasets or DATASETS)[self.dataset]
        out = {}
        for value in self.values:
            label = "x".join(map(str, value)) if isinstance(value, tuple) else value
            name = f"{base.name}-{self.parameter}-{label}"
            quick = {k: v for k, v in base.quick.items() if k != self.parameter}
            if self.parameter in _DATASET_FIELDS:
                change = {self.parameter: value}
            else:
                change = {"simulation": {**base.simulation, self.parameter: value}}
            out[name] = replace(base, name=name, quick=quick, **change)
        return out


#: Sweeps run with ``--sweeps NAME``: what users vary, on the ``realistic`` preset
#: (the default model and the baselines; names ``realistic-<parameter>-<value>``).
SWEEPS = {
    "seed": Sweep("realistic", "seed_offset", (13, 23)),
    "channels": Sweep("realistic", "n_channels", (16, 64)),
    "grid": Sweep("realistic", "bold_shape", ((8, 16, 16), (24, 48, 48))),
    "run-length": Sweep("realistic", "n_volumes", (60, 240)),
    "runs": Sweep("realistic", "n_runs", (2,)),
    "participants": Sweep("realistic", "n_subjects", (6,)),
    # the dominant (autocorrelated) BOLD noise, half and twice the realistic level
    "noise": Sweep("realistic", "bold_ar_noise", (0.0055, 0.022)),
}


# -------------------------------------------------------------------------- rows


@dataclass(frozen=True)
class TrainedRow:
    """A :class:`~eeg2fmri.Spec2VolEstimator` fitted in a worker process.

    ``recipe='default'``: the estimator's defaults, trained on all training
    participants (``validation_split=0``) for :data:`DEFAULT_EPOCHS`;
    ``'official'``: ``Spec2VolEstimator.official`` with the official features, a
    validation participant and :data:`PAPER_EPOCHS`. ``params`` override estimator
    parameters, ``features='official'`` the features alone; ``shifted``: train and
    test on EEG circularly shifted against the BOLD; ``ridge_backing``: the
    estimator's predictions combine the network with its band-power ridge (the
    default estimator's); False, the other rows: the network alone, so that they
    measure networks and recipes. ``cost`` (relative) schedules
    the costliest fits first; ``datasets`` (names; a sweep's variants have names of
    their own) limits where the row runs.
    """

    model: str
    recipe: str = "default"
    model_params: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    features: str | None = None
    shifted: bool = False
    cost: float = 1.0
    datasets: tuple | None = None
    group: str = "main"
    ridge_backing: bool = False

    @property
    def feature_set(self):
        return self.features or ("official" if self.recipe == "official" else "default")

    def estimator(self, quick, seed):
        """A fresh, unfitted estimator for this row."""
        from eeg2fmri.estimators import Spec2VolEstimator

        official = self.recipe == "official"
        kwargs = {
            "model": self.model,
            "model_params": dict(self.model_params) or None,
            "batch_size": 4 if quick else 16,
            "device": "cpu",
            "random_state": seed,
            "epochs": 1 if quick else (PAPER_EPOCHS if official else DEFAULT_EPOCHS),
            "validation_split": 0.2 if official else 0,
            "ridge_backing": self.ridge_backing,
            **self.params,
        }
        return (Spec2VolEstimator.official if official else Spec2VolEstimator)(**kwargs)


@dataclass(frozen=True)
class EstimatorRow:
    """A public scikit-learn-style estimator (``"module:Class"``) fitted in the main
    process with ``fit(X, y, groups=, runs=)``; ``frequencies=`` is passed when
    ``pass_frequencies``. Also scored on shifted test EEG (its null)."""

    estimator: str
    params: dict = field(default_factory=dict)
    pass_frequencies: bool = True
    datasets: tuple | None = None
    group: str = "baseline"


@dataclass(frozen=True)
class MeanVolumeRow:
    """:class:`~eeg2fmri.MeanVolumeRegressor`: constant over time."""

    datasets: tuple | None = None
    group: str = "baseline"


@dataclass(frozen=True)
class TimeOnlyRow:
    """The mean standardized training BOLD at the same volume index (no EEG)."""

    datasets: tuple | None = None
    group: str = "baseline"


@dataclass(frozen=True)
class SimulatedTruthRow:
    """Volumes the simulator wrote: ``derivatives/simulation/*_desc-<desc>.nii.gz``
    (correlations in intensity; SSIM and PSNR with each volume scaled by the
    measured volume's minimum and maximum)."""

    desc: str = "noiseless_bold"
    datasets: tuple | None = None
    group: str = "baseline"


@dataclass(frozen=True)
class PopulationCeilingRow:
    """The EEG-visible drive the simulator recorded, through a haemodynamic response
    learned across the training participants
    (:class:`~benchmarks.study.population_ceiling.PopulationCeiling`)."""

    variant: str = "sign unknown"
    datasets: tuple | None = None
    group: str = "baseline"


_NO_BRIDGE = {"bridge_latents": 0}
#: the default model, and where the costlier rows run (the linear and the
#: realistic preset: the two the default is judged on)
DEFAULT_MODEL = "spec2vol-bridge"
_KEY_DATASETS = ("noddi", "realistic")
#: the study's datasets (not the sweeps' variants)
_MAIN = tuple(DATASETS)


def _ablation(**changes):
    """The default model and recipe with one change (group ``ablation``)."""
    return TrainedRow(DEFAULT_MODEL, group="ablation", cost=0.3, **changes)


def _architecture(model_params=None, **changes):
    """``spec2vol-small`` (the whole scaled-down network) with one change, on the
    ablation datasets with ``--ablations all`` (minutes per fit)."""
    return TrainedRow(
        "spec2vol-small", model_params=model_params or {}, group="architecture",
        cost=2.0, **changes,
    )


#: the best a model trained on other participants can reach (sign unknown)
POPULATION_CEILING_ROW = (
    "population ceiling (EEG-visible drive, HRF across participants)"
)
#: Every row, in the order of the tables.
ROWS = {
    REFERENCE_ROW: TrainedRow(DEFAULT_MODEL, cost=0.3, ridge_backing=True),
    # the default's network without the ridge in its predictions (the default
    # before ridge_backing)
    f"{DEFAULT_MODEL}, network alone": TrainedRow(DEFAULT_MODEL, cost=0.3),
    f"{DEFAULT_MODEL}, EEG shifted (null)": TrainedRow(
        DEFAULT_MODEL, shifted=True, cost=0.3, datasets=_KEY_DATASETS
    ),
    # the cause of the collapse under real-like noise: learning every voxel
    f"{DEFAULT_MODEL}, every voxel": TrainedRow(
        DEFAULT_MODEL, params={"signal_voxels": None}, cost=0.3,
        datasets=_KEY_DATASETS,
    ),
    "latent-drive": TrainedRow("latent-drive", cost=0.2, datasets=("realistic",)),
    "ridge (band power)": EstimatorRow("eeg2fmri.estimators:BandPowerRidge"),
    "reduced-rank ridge": EstimatorRow(
        "eeg2fmri.estimators:ReducedRankRidge", datasets=_MAIN
    ),
    "interaction ridge (band pairs)": EstimatorRow(
        "eeg2fmri.estimators:InteractionRidge", datasets=_MAIN
    ),
    "mean volume": MeanVolumeRow(),
    "time only (null)": TimeOnlyRow(),
    "ceiling (EEG-visible drive, true HRF)": SimulatedTruthRow("ceiling_bold"),
    "oracle (noise-free BOLD)": SimulatedTruthRow("noiseless_bold"),
    POPULATION_CEILING_ROW: PopulationCeilingRow(),
    # one change to the default recipe each, on the ablation datasets
    "correlation loss": _ablation(params={"loss": "correlation"}),
    "per-volume [0, 1] targets": _ablation(params={"target_scaling": "volume"}),
    "official inputs (z-scored across electrodes, min-max)": _ablation(
        params={"input_scaling": "minmax"}, features="official"
    ),
    # the paper's architecture ablations (--ablations all), on spec2vol-small:
    # ~10 minutes per fit on 2 cores at the study's sizes
    # the whole scaled-down Spec2VolCAMU-Net (MD-TF-CAE blocks, VM-UNet decoder)
    "spec2vol-small (whole network)": TrainedRow(
        "spec2vol-small", cost=2.0, group="architecture"
    ),
    "spec2vol-small, paper recipe": TrainedRow(
        "spec2vol-small", "official", model_params=_NO_BRIDGE, cost=1.5,
        group="architecture",
    ),
    "e2fnet-small, paper recipe": TrainedRow(
        "e2fnet-small", "official", cost=2.0, group="architecture"
    ),
    "no bridge": _architecture(_NO_BRIDGE),
    "bridge on the encoder output": _architecture({"bridge_source": "encoder"}),
    "U-Net decoder": _architecture({"decoder": "unet"}),
    "no attention": _architecture({"attention": False}),
    "no electrode path": _architecture({"conv_paths": ("frequency", "square")}),
    "no frequency path": _architecture({"conv_paths": ("electrode", "square")}),
    "no square path": _architecture({"conv_paths": ("electrode", "frequency")}),
}


def rows_for(dataset, ablation_datasets, ablations="default", rows=None):
    """``{label: row}`` of the rows that run on ``dataset`` (a name), table order.

    ``ablations='all'`` adds the architecture ablations (``spec2vol-small``) on the
    ablation datasets.
    """
    groups = {"main", "baseline"}
    if dataset in ablation_datasets:
        groups.add("ablation")
        if ablations == "all":
            groups.add("architecture")
    rows = ROWS if rows is None else rows
    return {
        label: row
        for label, row in rows.items()
        if row.group in groups and (row.datasets is None or dataset in row.datasets)
    }


def is_trained(row):
    """Whether a row is fitted in a worker process (a network)."""
    return isinstance(row, TrainedRow)


def describe(row):
    """A row as a JSON-ready dict (its kind and fields)."""
    from dataclasses import asdict

    out = {"kind": type(row).__name__, **asdict(row)}
    if is_trained(row):
        out["features"] = row.feature_set
    return out
