"""Runs of one dataset on common axes: channels by name, one output grid.

Participants are recorded with caps whose channels come in other orders, sometimes
with other spellings or extra electrodes; :func:`align_channels` puts every run's
channels in the first run's order by canonical name (never by position).
:func:`output_space_of` describes the grid the runs' volumes share: a template when
the BOLD files name one (``space-MNI152NLin2009cAsym`` from fMRIPrep), else the native
grid of the first run's participant, with a warning when the runs' affines differ
(a voxel-wise model then mixes anatomy across participants).
"""

import numpy as np

from .._utils.logging import logger
from ..exceptions import DataError
from ..spaces import OutputSpace, match_channels

__all__ = ["align_channels", "output_space_of"]


def align_channels(runs):
    """Channel index of each run that puts it in the first run's channel order.

    Parameters
    ----------
    runs : sequence of RunFeatures

    Returns
    -------
    channels : list of (ndarray of int or None)
        Per run, the spectra channels in the first run's order (None: as stored).

    Raises
    ------
    DataError
        A run lacks channels of the first run (named), or channel names are
        ambiguous.
    """
    runs = list(runs)
    if not runs:
        return []
    if not all(rf.ch_names for rf in runs):
        return [None] * len(runs)  # unnamed channels: by position, as given
    first = runs[0]
    out = [None]
    rates = {float(rf.sfreq) for rf in runs}
    if len(rates) > 1:
        logger.warning(
            "runs were recorded at different sampling rates (%s Hz): spectrum "
            "magnitudes depend on the window length in samples; resample the "
            "recordings to one rate for comparable features",
            ", ".join(f"{r:g}" for r in sorted(rates)),
        )
    for rf in runs[1:]:
        try:
            match = match_channels(first.ch_names, rf.ch_names, source=rf.label)
        except ValueError as err:
            raise DataError(str(err)) from None
        if match.missing:
            raise DataError(
                f"{rf.label}: lacks channel(s) {', '.join(match.missing)} of "
                f"{first.label}; every run must have the first run's channels "
                "(select runs of one cap, or drop those channels from the first run)"
            )
        if match.extra:
            logger.warning(
                "%s: channel(s) %s are not in %s: left out", rf.label,
                ", ".join(match.extra), first.label,
            )
        if match.reordered or match.renamed:
            logger.info(
                "%s: channels put in %s's order by name%s", rf.label, first.label,
                f" ({', '.join(f'{a}={b}' for a, b in match.renamed.items())})"
                if match.renamed else "",
            )
        index = np.array(
            [rf.ch_names.index(match.mapping[n]) for n in first.ch_names],
            dtype=np.int64,
        )
        out.append(None if np.array_equal(index, np.arange(len(rf.ch_names)))
                   else index)
    return out


def output_space_of(runs):
    """The grid the runs' volumes are on, as an :class:`OutputSpace` (or None).

    Parameters
    ----------
    runs : sequence of RunFeatures

    Returns
    -------
    space : OutputSpace or None
        Shape and affine of the first run; label: the BOLD files' common ``space-``
        entity, else ``"sub<label>"`` (the native grid of the first run's
        participant). None when there are no runs.
    """
    runs = list(runs)
    if not runs:
        return None
    first = runs[0]
    shape = tuple(int(s) for s in first.volumes.shape[1:])
    affine = np.asarray(first.affine, dtype=np.float64)
    labels = {rf.space for rf in runs}
    spread = max(
        float(np.max(np.abs(np.asarray(rf.affine) - affine))) for rf in runs
    )
    voxel = float(np.min(np.linalg.norm(affine[:3, :3], axis=0)))
    grids = (
        f"; the {len(runs)} runs' affines agree within {spread:.3g} mm"
        if len(runs) > 1 else ""
    )
    if len(labels) == 1 and first.space is not None:
        label = first.space
        description = f"space-{label} (the BOLD files' space entity){grids}"
    else:
        label = f"sub{first.subject}"
        source = getattr(getattr(first, "paired_run", None), "bold_path", None)
        what = f" ({source.name})" if source is not None else ""
        description = (
            f"the native BOLD grid of sub-{first.subject}{what}, the first training "
            f"run{grids}"
        )
    if spread > 0.5 * voxel:
        logger.warning(
            "the runs' BOLD grids differ (affines up to %.3g mm apart, voxels of %.3g "
            "mm): a voxel-wise model treats voxel i of every run as the same place; "
            "use BOLD in one template space (e.g. fMRIPrep's MNI152NLin2009cAsym, "
            "--bold-derivatives) for data of several participants",
            spread, voxel,
        )
    return OutputSpace(shape, affine, label, description, tr=first.tr)
