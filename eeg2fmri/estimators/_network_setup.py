"""Helpers of :class:`~eeg2fmri.estimators.Spec2VolEstimator`'s ``fit``: checking a
freshly built network against the data, zeroing its output, the validation split and
the fingerprint of a training problem (for checkpoint resumption).
"""

import difflib
import warnings

import numpy as np

from .._utils.logging import logger

__all__ = [
    "check_model_name",
    "check_model_output",
    "check_target_range",
    "zero_output",
    "scaling_digest",
    "index_digest",
    "validation_split",
    "checkpoint_subdir",
]


def check_model_name(name):
    """Raise ValueError (with close matches) for a name the registry does not have."""
    from ..models import list_models

    names = list_models()
    if name.strip().lower().replace("_", "-") not in names:
        close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"Unknown model {name!r}; expected one of {', '.join(names)}.{hint}"
        )


def check_model_output(model, input_shape, output_shape, name):
    import torch

    training = model.training
    model.eval()
    with torch.no_grad():
        try:
            out = model(torch.zeros(1, *input_shape))
        except Exception as exc:  # the architecture cannot take these inputs
            raise ValueError(
                f"Model {_model_label(name)} cannot take inputs of shape "
                f"{input_shape}: "
                f"{exc}"
            ) from exc
    model.train(training)
    if tuple(out.shape[1:]) != tuple(output_shape):
        raise ValueError(
            f"Model {_model_label(name)} produces volumes of shape "
            f"{tuple(out.shape[1:])} but y has volumes of shape {tuple(output_shape)}."
        )


def check_target_range(model, target_scaling, name):
    """Refuse a bounded output activation with unbounded (z-scored) targets."""
    activation = model.get_config().get("output_activation")
    if activation is not None and target_scaling == "zscore":
        raise ValueError(
            f"Model {_model_label(name)} ends with a {activation} (outputs in [0, 1]) "
            "and cannot predict target_scaling='zscore' targets; use "
            "target_scaling='volume' (official) or "
            "model_params={'output_activation': None}."
        )


def zero_output(model, input_shape):
    """Make the model output exactly 0 at initialisation; returns True if it did.

    Models of the registry that can (Spec2VolCAMU-Net) say how with ``zero_output_()``;
    for any other model, the last module with parameters that runs in ``forward`` is
    zeroed, and kept zeroed only if that makes the output exactly 0 (nothing but
    reshapes and crops after it).
    """
    import torch

    if hasattr(model, "zero_output_"):
        model.zero_output_()
        return True
    order = []
    hooks = [
        m.register_forward_hook(lambda mod, inp, out: order.append(mod))
        for m in model.modules()
        if any(True for _ in m.parameters(recurse=False))
    ]
    training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.zeros(1, *input_shape))
    finally:
        for h in hooks:
            h.remove()
    if not order:
        model.train(training)
        return False
    layer = order[-1]
    saved = {k: v.detach().clone() for k, v in layer.named_parameters(recurse=False)}
    with torch.no_grad():
        for v in layer.parameters(recurse=False):
            v.zero_()
        probe = torch.linspace(0, 1, 2 * int(np.prod(input_shape)))
        out = model(probe.reshape(2, *input_shape))
        ok = bool(torch.all(out == 0))
        if not ok:
            for k, v in layer.named_parameters(recurse=False):
                v.copy_(saved[k])
    model.train(training)
    return ok


def scaling_digest(scaling):
    """Short hash of fitted scaling statistics (for the checkpoint fingerprint)."""
    import hashlib

    h = hashlib.sha256(scaling.method.encode())
    for name in ("lo", "hi", "mean", "std", "location", "scale"):
        value = getattr(scaling, name, None)
        if value is not None:
            h.update(name.encode())
            h.update(np.ascontiguousarray(value, dtype=np.float64).tobytes())
    return h.hexdigest()[:16]


def _model_label(model):
    return repr(model) if isinstance(model, str) else repr(model.get("name", "config"))


def index_digest(idx):
    import hashlib

    return hashlib.sha256(np.ascontiguousarray(idx, dtype=np.int64)).hexdigest()[:16]


def checkpoint_subdir(checkpoint_dir, refit):
    """Checkpoints of the validation fit: a ``validation-fit`` folder when refitting.

    The final fit (on every participant) writes to ``checkpoint_dir`` itself; each
    fit resumes from its own checkpoints.
    """
    if not checkpoint_dir or not refit:
        return checkpoint_dir
    from pathlib import Path

    return Path(checkpoint_dir) / "validation-fit"


def validation_split(n, groups, validation_split, seed, min_groups=0):
    """Indices (train, validation) and the validation groups (or None).

    ``min_groups=1`` holds out one participant where ``validation_split`` of them
    rounds to none, when there are at least 3 (a refit trains on them afterwards).
    """
    all_idx = np.arange(n)
    if groups is not None:
        groups = np.asarray(groups)
        if groups.shape != (n,):
            raise ValueError(
                f"groups must have shape ({n},), one label per sample. Got shape "
                f"{groups.shape} instead."
            )
    if not validation_split:
        return all_idx, all_idx[:0], None
    rng = np.random.default_rng([seed, 7])
    if groups is not None:
        labels = np.unique(groups)
        if len(labels) >= 2:
            n_val = min(round(validation_split * len(labels)), len(labels) - 1)
            if n_val < 1 and min_groups and len(labels) >= 3:
                n_val = min(int(min_groups), len(labels) - 2)
            if n_val < 1:
                logger.info(
                    "validation_split=%g of %d participants rounds to none: every "
                    "participant trains the model and the last epoch is kept",
                    validation_split,
                    len(labels),
                )
                return all_idx, all_idx[:0], None
            val_groups = np.sort(rng.choice(labels, n_val, replace=False))
            is_val = np.isin(groups, val_groups)
            return all_idx[~is_val], all_idx[is_val], val_groups.tolist()
        warnings.warn(
            "Only one group (participant) in the training data: the validation split "
            "holds out random samples of it, and validation scores are optimistic "
            "because neighbouring volumes are correlated.",
            UserWarning,
            stacklevel=3,
        )
    else:
        warnings.warn(
            "No groups given to fit: the validation split holds out random samples, "
            "which gives optimistic validation scores because neighbouring volumes "
            "are correlated; pass groups=<participant per sample> to hold out whole "
            "participants, or validation_split=0 to disable it.",
            UserWarning,
            stacklevel=3,
        )
    if n < 2:
        return all_idx, all_idx[:0], None
    n_val = min(max(1, round(validation_split * n)), n - 1)
    perm = rng.permutation(n)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val]), None
