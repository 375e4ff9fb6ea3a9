"""HTML reports of the BIDS-App: per-participant and group, with nilearn figures.

- :class:`ParticipantReport` / :class:`RunResult`: ``<out>/sub-<label>.html`` with
  figures in ``<out>/sub-<label>/figures/`` (also inlined: the file opens offline).
- :func:`write_group_report`: ``<out>/group_report.html``.
- :mod:`eeg2fmri.reports.figures`: the figures on their own.
"""

from .figures import (
    plot_correlation_map,
    plot_global_signal,
    plot_group_violins,
    plot_metric_distributions,
    plot_training_curves,
    plot_volume_comparison,
)
from .report import ParticipantReport, RunResult, write_group_report

__all__ = [
    "ParticipantReport",
    "RunResult",
    "write_group_report",
    "plot_volume_comparison",
    "plot_correlation_map",
    "plot_metric_distributions",
    "plot_global_signal",
    "plot_training_curves",
    "plot_group_violins",
]
