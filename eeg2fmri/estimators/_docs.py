"""Parameter documentation shared by the estimators (:mod:`eeg2fmri._utils.docs`)."""

# SPDX-License-Identifier: BSD-3-Clause

from .._utils.docs import doc_filler

__all__ = ["fill_doc"]

fill_doc = doc_filler({
    # the type line only: what X means is said by each method
    "X_spectra": (
        "X : array-like of shape (n_samples, n_context, n_channels, n_freqs) or "
        "(n_samples, n_features)"
    ),
    "input_shape": """
        input_shape : tuple of 3 ints, optional
            ``(n_context, n_channels, n_freqs)`` of flattened 2-D ``X``. Default for 2-D
            ``X``: ``(1, 1, n_features)``.
        """,
    "output_shape": """
        output_shape : tuple of 3 ints, optional
            ``(D, H, W)`` of flattened 2-D ``y``. Default for 1-D/2-D ``y``:
            ``(1, 1, n_targets)``.
        """,
    "runs": """
        runs : array-like of shape (n_samples,), optional
            Run of each sample (``'zscore'``).
        """,
    "spaces": """
        eeg_spec, output_space : optional
            What ``X`` and ``y`` are (see :meth:`Spec2VolEstimator.fit
            <eeg2fmri.Spec2VolEstimator.fit>`).
        """,
})
