"""The ``--help`` texts of the command-line tools, for the CLI reference in the docs.

``docs/conf.py`` calls :func:`write_cli_help` on every build, so the reference cannot
drift from the parsers; a test checks that the committed copies are current.
"""

import os
from contextlib import contextmanager
from pathlib import Path

__all__ = ["cli_help_texts", "write_cli_help"]

#: Width of the help texts (argparse reads ``COLUMNS``).
HELP_WIDTH = 80


@contextmanager
def _columns(width):
    old = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = str(width)
    try:
        yield
    finally:
        if old is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = old


def cli_help_texts(width=HELP_WIDTH):
    """``--help`` of each command, formatted ``width`` columns wide.

    Returns
    -------
    texts : dict of str to str
        File name (``cli_<command>_help.txt``) -> help text.
    """
    from bids_app.parser import build_parser as bids_app_parser

    from .demo import _build_parser as demo_parser
    from .simulate.cli import build_parser as simulate_parser

    with _columns(width):
        return {
            "cli_eeg2fmri_help.txt": bids_app_parser().format_help(),
            "cli_simulate_help.txt": simulate_parser().format_help(),
            "cli_demo_help.txt": demo_parser().format_help(),
        }


def write_cli_help(folder, width=HELP_WIDTH):
    """Write the help texts into ``folder`` (only files whose text changed)."""
    from ._utils.io import write_text_atomic

    folder = Path(folder)
    for name, text in cli_help_texts(width).items():
        path = folder / name
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            write_text_atomic(path, text)
