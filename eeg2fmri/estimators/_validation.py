"""Checks of the data given to ``fit`` and ``predict`` (shapes, dtypes, lazy arrays).

Inputs are EEG spectra ``(n_samples, n_context, n_channels, n_freqs)`` (or flattened
to 2-D) and targets volumes ``(n_samples, D, H, W)`` (or flattened); lazy array-likes
(memory maps, :class:`eeg2fmri.features.ConcatPairs`) are checked without being read.
"""

import numpy as np
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = [
    "is_lazy_nd",
    "check_fit_data",
    "check_predict_data",
    "format_prediction",
    "target_mean",
    "check_groups",
]


def is_lazy_nd(X):
    shape = getattr(X, "shape", None)
    return (
        shape is not None
        and hasattr(X, "__getitem__")
        and len(shape) >= 3
        and not hasattr(X, "tocsr")
    )


def _check_shape_param(value, name, length):
    if value is None:
        return None
    try:
        shape = tuple(int(v) for v in value)
    except TypeError:
        shape = ()
    if len(shape) != length or any(s < 1 for s in shape):
        raise ValueError(
            f"The '{name}' parameter must be None or a tuple of {length} positive "
            "ints. "
            f"Got {value!r} instead."
        )
    return shape


def _check_numeric(arr, name):
    dtype = np.dtype(getattr(arr, "dtype", np.float64))
    if not (np.issubdtype(dtype, np.floating) or np.issubdtype(dtype, np.integer)):
        raise ValueError(f"{name} must contain numbers. Got dtype {dtype} instead.")


def _target_layout(y, output_shape, n_samples, name):
    """Output volume shape and the ndim of y for the flattened layouts."""
    ndim = len(y.shape)
    if len(y) != n_samples:
        raise ValueError(
            "Found input variables with inconsistent numbers of samples: X has "
            f"{n_samples} samples but y has {len(y)}."
        )
    if ndim == 4:
        shape = tuple(int(s) for s in y.shape[1:])
        if output_shape is not None and output_shape != shape:
            raise ValueError(
                f"y has volumes of shape {shape} but 'output_shape' is {output_shape}; "
                f"{name} cannot produce volumes of that shape."
            )
        return shape, 4
    if ndim == 1:
        n_out = 1
    elif ndim == 2:
        n_out = int(y.shape[1])
    else:
        raise ValueError(
            "y must have shape (n_samples, D, H, W), or be flattened to "
            "(n_samples, n_voxels) or (n_samples,). "
            f"Got shape {tuple(y.shape)} instead."
        )
    shape = output_shape or (1, 1, n_out)
    if int(np.prod(shape)) != n_out:
        raise ValueError(
            f"y has {n_out} values per sample but 'output_shape' {shape} holds "
            f"{int(np.prod(shape))}; {name} cannot produce targets of that shape."
        )
    return tuple(shape), ndim


def check_fit_data(est, X, y):
    """Validate (X, y) for fit; returns (X, y, input_shape, output_shape, y_ndim).

    2-D inputs go through scikit-learn's ``validate_data`` (feature names, dtypes,
    finiteness); N-D and lazy inputs are checked without being read (finiteness is
    checked while streaming the scaling statistics).
    """
    name = type(est).__name__
    input_shape = _check_shape_param(est.input_shape, "input_shape", 3)
    output_shape = _check_shape_param(est.output_shape, "output_shape", 3)
    if y is None:
        raise ValueError(f"{name} requires y to be passed, but the target y is None.")
    if is_lazy_nd(X):
        if len(X.shape) != 4:
            raise ValueError(
                "X must have shape (n_samples, n_context, n_channels, n_freqs) or be "
                "flattened to (n_samples, n_features). "
                f"Got shape {tuple(X.shape)} instead."
            )
        _check_numeric(X, "X")
        if len(X) < 1:
            raise ValueError(
                "Found array with 0 sample(s) while a minimum of 1 is required."
            )
        shape = tuple(int(s) for s in X.shape[1:])
        if input_shape is not None and input_shape != shape:
            raise ValueError(
                f"X has samples of shape {shape} but 'input_shape' is {input_shape}."
            )
        input_shape = shape
        if not hasattr(y, "shape"):
            y = np.asarray(y)
        _check_numeric(y, "y")
    else:
        if hasattr(X, "shape") and len(X.shape) == 3:
            raise ValueError(
                "X must have shape (n_samples, n_context, n_channels, n_freqs) or be "
                "flattened to (n_samples, n_features). "
                f"Got shape {tuple(X.shape)} instead."
            )
        y_is_nd = hasattr(y, "shape") and len(y.shape) > 2
        if y_is_nd:
            X = validate_data(est, X, reset=True, dtype=[np.float32, np.float64])
        else:
            X, y = validate_data(
                est,
                X,
                y,
                reset=True,
                multi_output=True,
                y_numeric=True,
                dtype=[np.float32, np.float64],
            )
        n_features = X.shape[1]
        input_shape = input_shape or (1, 1, n_features)
        if int(np.prod(input_shape)) != n_features:
            raise ValueError(
                f"X has {n_features} features but 'input_shape' {input_shape} holds "
                f"{int(np.prod(input_shape))}."
            )
    output_shape, y_ndim = _target_layout(y, output_shape, len(X), name)
    return X, y, input_shape, output_shape, y_ndim


def check_predict_data(est, X):
    """Validate X for predict against the fitted input shape."""
    check_is_fitted(est)
    if is_lazy_nd(X):
        shape = tuple(int(s) for s in X.shape[1:])
        if shape != tuple(est.input_shape_):
            raise ValueError(
                f"X has samples of shape {shape}, but {type(est).__name__} was fitted "
                f"on samples of shape {tuple(est.input_shape_)}."
            )
        _check_numeric(X, "X")
        return X
    return validate_data(est, X, reset=False, dtype=[np.float32, np.float64])


def format_prediction(pred, n, y_ndim, output_shape):
    if y_ndim == 4:
        return pred.reshape(n, *output_shape)
    pred = np.asarray(pred, dtype=np.float64).reshape(n, -1)
    return pred.ravel() if y_ndim == 1 else pred


def target_mean(y, indices, output_shape, target, chunk_size=256):
    """Mean of the scaled targets ``y[indices]`` (model units), read in chunks.

    Returns
    -------
    mean : ndarray of shape output_shape, float32
    """
    indices = np.sort(np.asarray(indices))
    total = np.zeros(output_shape, dtype=np.float64)
    for start in range(0, len(indices), chunk_size):
        idx = indices[start : start + chunk_size]
        chunk = np.asarray(y[idx]).reshape(len(idx), *output_shape)
        total += target.to_model(chunk, rows=idx).sum(axis=0, dtype=np.float64)
    return (total / max(len(indices), 1)).astype(np.float32)


def check_groups(groups, n):
    """``groups`` as an array of shape (n,), or None."""
    if groups is None:
        return None
    groups = np.asarray(groups)
    if groups.shape != (n,):
        raise ValueError(
            f"groups must have shape ({n},), one label per sample. Got shape "
            f"{groups.shape} instead."
        )
    return groups
