"""HTML reports of the BIDS-App: per-participant and group, with nilearn figures.

- :class:`ParticipantReport` / :class:`RunResult`: ``<out>/sub-<label>.html`` with
  figures in ``<out>/sub-<label>/figures/`` (also inlined: the file opens offline).
- :func:`write_group_report`: ``<out>/group_report.html``.
- :mod:`eeg2fmri.reports.figures`: the figures on their own.
"""

from . import figures
from .figures import *  # noqa: F403 (the figures are this package's API too)
from .report import ParticipantReport, RunResult, write_group_report

__all__ = ["ParticipantReport", "RunResult", "write_group_report", *figures.__all__]
