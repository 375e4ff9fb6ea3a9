"""What eeg2fmri did to a recording: correction provenance stored in ``raw.info``.

A corrected recording carries one line ``eeg2fmri-artifact-correction:{json}`` in
``raw.info["description"]``, so that nothing is corrected twice and every derivative
can say what was done.
"""

import json

__all__ = ["PROVENANCE_TAG", "correction_provenance", "one_blas_thread"]

#: Prefix of the provenance line written into ``raw.info["description"]``.
PROVENANCE_TAG = "eeg2fmri-artifact-correction:"


def correction_provenance(raw):
    """The corrections eeg2fmri applied to ``raw``, from ``raw.info["description"]``.

    Parameters
    ----------
    raw : mne.io.BaseRaw

    Returns
    -------
    provenance : dict
        ``{"gradient": {...}, "pulse": {...}}`` (keys present only for the steps
        applied); empty for a recording eeg2fmri did not correct.
    """
    text = raw.info.get("description") or ""
    for line in text.splitlines():
        if line.startswith(PROVENANCE_TAG):
            try:
                return json.loads(line[len(PROVENANCE_TAG) :])
            except ValueError:
                return {}
    return {}


def _with_provenance(raw, provenance):
    other = [
        line
        for line in (raw.info.get("description") or "").splitlines()
        if not line.startswith(PROVENANCE_TAG)
    ]
    line = PROVENANCE_TAG + json.dumps(provenance, sort_keys=True)
    with raw.info._unlock():
        raw.info["description"] = "\n".join([*other, line])


def one_blas_thread():
    """Limit BLAS to one thread (small products; threads only contend)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        import contextlib

        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
