"""Which model a job uses, and where it comes from: built, trained, cached or loaded.

- :func:`make_estimator`: the estimator a model name and a recipe describe (a network
  of the registry, or a linear baseline).
- :func:`check_model_choice`: refuse an unknown name before any work.
- :class:`ModelCache`: leave-one-subject-out models trained once per training set and
  parameters, saved as model files in a work folder and reused.
- :func:`load_trained_model` / :func:`save_trained_model`: model files with the
  participants they were trained on, and the provenance derivatives cite.
"""

import difflib
import hashlib
import json
from pathlib import Path

import numpy as np

from .._utils.io import write_json_atomic
from .._utils.logging import logger
from .._version import __version__
from ..exceptions import NoMatchingDataError

__all__ = [
    "RECIPES",
    "LINEAR_MODELS",
    "DEFAULT_MODELS",
    "model_names",
    "check_model_choice",
    "make_estimator",
    "ModelCache",
    "save_trained_model",
    "load_trained_model",
    "training_participants",
    "baseline_volume",
]

#: Recipes: the study's defaults, or the paper's official code.
RECIPES = ("default", "official")
#: Model names that are linear baselines (:mod:`eeg2fmri.estimators`), not networks.
LINEAR_MODELS = ("ridge", "reduced-rank-ridge", "interaction-ridge")
#: recipe -> (model, why it is the default)
DEFAULT_MODELS = {
    "default": (
        "spec2vol-bridge",
        "the default: Spec2VolCAMU-Net's input projection with a global bridge, "
        "learning the voxels where the EEG predicts the BOLD; in the benchmark study "
        "it does as well as the whole scaled-down network (spec2vol-small) at a "
        "seventh of the cost and trains in minutes on a CPU (--model-name spec2vol "
        "for the paper's 45.9 M-parameter network, which wants a GPU)",
    ),
    "official": (
        "spec2vol",
        "--recipe official: the paper's network (45.9 M parameters; on a CPU a "
        "training step of 16 pairs takes about 2 minutes, so train it on a GPU)",
    ),
}
#: key of a model file's JSON holding the participants it was trained on
_TRAINING_KEY = "eeg2fmri_app"


def model_names():
    """Every name :func:`make_estimator` accepts (registry networks + linear)."""
    from ..models import list_models

    return [*list_models(), *LINEAR_MODELS]


def check_model_choice(name, recipe="default"):
    """Refuse an unknown model name or recipe (ValueError naming the choices).

    Every registered network works under both recipes (bounded outputs such as
    E2fNet's sigmoid become linear for the default recipe's z-scored targets), and
    so do the linear baselines, which take the recipe's features.

    Returns
    -------
    name : str
    """
    if recipe not in RECIPES:
        raise ValueError(
            f"recipe {recipe!r} is not a recipe; expected one of {', '.join(RECIPES)}."
        )
    known = model_names()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else "."
        raise ValueError(
            f"model {name!r} is not a model; expected one of {', '.join(known)}{hint}"
        )
    return name


def make_estimator(
    name="spec2vol-bridge",
    recipe="default",
    *,
    frequencies=None,
    batch_size=16,
    epochs=None,
    lr=None,
    device="auto",
    random_state=0,
    verbose=1,
    checkpoint_dir=None,
):
    """The (unfitted) estimator of a model name and a recipe.

    Parameters
    ----------
    name : str, default="spec2vol-bridge"
        A network of the registry (:func:`eeg2fmri.models.list_models`) or a linear
        baseline (``"ridge"``, ``"reduced-rank-ridge"``, ``"interaction-ridge"``).
    recipe : {"default", "official"}
        The study's defaults, or the paper's official code
        (:meth:`~eeg2fmri.Spec2VolEstimator.official`); linear baselines ignore it.
    frequencies : array-like, optional
        Frequencies of the bins (linear baselines; default: from the training X).
    batch_size, epochs, lr, device, random_state, verbose, checkpoint_dir
        :class:`~eeg2fmri.Spec2VolEstimator` parameters (None keeps the recipe's).

    Returns
    -------
    estimator : Spec2VolEstimator, BandPowerRidge or ReducedRankRidge
    """
    from ..estimators import (
        BandPowerRidge,
        InteractionRidge,
        ReducedRankRidge,
        Spec2VolEstimator,
    )

    check_model_choice(name, recipe)
    if name in LINEAR_MODELS:
        cls = {"ridge": BandPowerRidge, "reduced-rank-ridge": ReducedRankRidge,
               "interaction-ridge": InteractionRidge}[name]
        return cls(frequencies=frequencies)
    overrides = dict(
        model=name,
        batch_size=batch_size,
        device=device,
        random_state=random_state,
        verbose=verbose,
        checkpoint_dir=checkpoint_dir,
    )
    if epochs is not None:
        overrides["epochs"] = epochs
    if lr is not None:
        overrides["lr"] = lr
    if recipe == "official":
        return Spec2VolEstimator.official(**overrides)
    return Spec2VolEstimator(**overrides)


def _model_files(path):
    path = Path(path)
    if path.suffix in (".safetensors", ".json"):
        return path.with_suffix(".safetensors"), path.with_suffix(".json")
    return path / "weights.safetensors", path / "estimator.json"


def save_trained_model(estimator, path, *, participants=(), params=None):
    """Save a fitted estimator with the participants it was trained on.

    Parameters
    ----------
    estimator : fitted estimator
    path : str or Path
        Without suffix: ``<path>.safetensors`` and ``<path>.json`` are written.
    participants : sequence of str
        Training participants (labels without ``sub-``).
    params : FeatureParams, optional
        Set as ``feature_params_`` when the estimator has none.

    Returns
    -------
    weights : Path
        The ``.safetensors`` file.
    """
    if params is not None and getattr(estimator, "feature_params_", None) is None:
        estimator.feature_params_ = params
    weights = Path(path).with_suffix(".safetensors")
    json_path = Path(estimator.save(weights))
    desc = json.loads(json_path.read_text())
    if isinstance(desc.get("params"), dict) and desc["params"].get("checkpoint_dir"):
        # a folder of this machine's work dir: meaningless to whoever loads it
        desc["params"]["checkpoint_dir"] = None
    desc[_TRAINING_KEY] = {
        "training_participants": ["sub-" + str(p) for p in participants],
    }
    write_json_atomic(json_path, desc)
    return weights


def training_participants(path):
    """Participants (``sub-XX``) a model file says it was trained on (list)."""
    try:
        desc = json.loads(_model_files(path)[1].read_text())
    except (OSError, ValueError):
        return []
    return list((desc.get(_TRAINING_KEY) or {}).get("training_participants") or [])


def model_label(estimator):
    """A short name of an estimator's model (str)."""
    value = getattr(estimator, "model", None)
    return value if isinstance(value, str) else type(estimator).__name__


def _space_info(estimator):
    space = getattr(estimator, "output_space_", None)
    spec = getattr(estimator, "eeg_spec_", None)
    info = {}
    if space is not None:
        info["OutputSpace"] = {"Label": space.label, "Description": space.description}
    if spec is not None:
        info["Channels"] = list(spec.ch_names)
        info["SamplingFrequency"] = spec.sfreq
    return info


def load_trained_model(path, out_dir=None):
    """Load a model file; returns ``(estimator, provenance)``.

    Parameters
    ----------
    path : str or Path
        Directory, ``.safetensors`` or ``.json``.
    out_dir : str or Path, optional
        The derivative dataset: a model inside it is cited with a ``bids::`` URI.

    Returns
    -------
    estimator : fitted estimator
    provenance : dict
        ``Name``, ``File``, ``SHA256``, ``URI`` (inside ``out_dir``),
        ``TrainingParticipants``, ``Scheme``, and the model's output space and
        channels.
    """
    from ..bids.derivatives import model_provenance
    from ..estimators import load_model

    estimator = load_model(path)
    weights = _model_files(path)[0]
    if not weights.exists():
        weights = Path(path)
    return estimator, {
        "Name": model_label(estimator),
        **model_provenance(weights, out_dir),
        "TrainingParticipants": training_participants(path),
        "Scheme": "given (--model)",
        **_space_info(estimator),
    }


def baseline_volume(estimator):
    """The mean-volume baseline of a model's training participants, or None.

    The reference volume of ``output_space_`` in the units of the model's
    predictions (each volume min-max scaled for ``target_scaling='volume'``): a
    prediction that never changes, whose temporal correlation is 0 and whose SSIM
    shows what anatomy alone scores.

    Returns
    -------
    volume : ndarray of float32, shape (D, H, W), or None
    """
    from ..estimators.scaling import per_volume_minmax

    space = getattr(estimator, "output_space_", None)
    if space is None or space.reference is None:
        return None
    ref = np.asarray(space.reference, dtype=np.float32)
    if getattr(estimator, "target_scaling", None) == "volume":
        return per_volume_minmax(ref[None])[0]
    return ref


class ModelCache:
    """Models trained once per (model, recipe, training set, parameters), kept on disk.

    Parameters
    ----------
    folder : str or Path
        Where the model files go (``<folder>/models``) and training checkpoints
        (``<folder>/checkpoints``).
    """

    def __init__(self, folder):
        self.folder = Path(folder)

    def key(self, estimator, params, participants, extra=None):
        """Hash of everything that makes a trained model different (str, 12 hex)."""
        blob = json.dumps(
            {
                "estimator": type(estimator).__name__,
                # every parameter (defaults included), so that a changed default
                # never reuses a model trained under the old one
                "params": {
                    k: v for k, v in estimator.get_params(deep=False).items()
                    if k != "checkpoint_dir"
                },
                "features": params.to_dict(),
                "participants": sorted(participants),
                "extra": extra,
                "version": __version__,
            },
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def trained(self, make, dataset, train_idx, params, *, name, cache_name,
                out_dir=None, extra=None):
        """The model trained on ``dataset`` rows ``train_idx`` (cached).

        Parameters
        ----------
        make : callable
            ``make(checkpoint_dir)`` -> a new estimator.
        dataset : PairedDataset
        train_idx : ndarray of int
            Training rows (the other participants' pairs).
        params : FeatureParams
        name : str
            Model name, for files and logs.
        cache_name : str
            Prefix of the files (e.g. ``loso_sub-01``).
        out_dir : str or Path, optional
            For the provenance's ``bids::`` URI.
        extra : dict, optional
            More values for the cache key.

        Returns
        -------
        estimator : fitted estimator
        provenance : dict
            As :func:`load_trained_model`'s, with ``Scheme``
            ``"leave-one-subject-out"``.
        """
        from ..bids.derivatives import model_provenance
        from ..estimators import load_model

        train_idx = np.asarray(train_idx)
        if not len(train_idx):
            raise NoMatchingDataError(
                "Leave-one-subject-out training needs paired runs of at least one "
                "other participant; none found (give a trained model with --model)."
            )
        groups = sorted({str(g) for g in np.asarray(dataset.groups)[train_idx]})
        probe = make(None)
        key = self.key(probe, params, groups, extra)
        path = self.folder / "models" / f"{cache_name}_{name}_{key}"
        weights = path.with_suffix(".safetensors")
        if weights.exists() and path.with_suffix(".json").exists():
            logger.info("Loading the cached model %s", weights)
            estimator = load_model(weights)
        else:
            train = dataset.subset(train_idx)
            estimator = make(self.folder / "checkpoints" / path.name)
            logger.info(
                "Training %s on %d pairs of %s%s", name, len(train_idx),
                ", ".join("sub-" + g for g in groups),
                f" ({estimator.epochs} epochs)" if hasattr(estimator, "epochs") else "",
            )
            estimator.fit(train.X, train.y, groups=train.groups,
                          runs=train.provenance["run_label"].to_numpy())
            save_trained_model(estimator, path, participants=groups, params=params)
        return estimator, {
            "Name": name,
            **model_provenance(weights, out_dir),
            "TrainingParticipants": ["sub-" + g for g in groups],
            "Scheme": "leave-one-subject-out",
            **_space_info(estimator),
        }
