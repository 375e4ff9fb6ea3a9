"""The ``eeg2fmri`` BIDS-App: ``eeg2fmri bids_dir output_dir participant|group``.

A thin command line over the ``eeg2fmri`` package: :mod:`bids_app.parser` (flags),
:mod:`bids_app.config` (settings, TOML), :mod:`bids_app.run` (``main``, exit codes) and
:mod:`bids_app.workflow` (the participant and group levels).
"""

__all__ = ["main"]


def main(argv=None):
    """Run the BIDS-App (see :func:`bids_app.run.main`)."""
    from .run import main as _main

    return _main(argv)
