"""What the package's command lines share: usage errors, argument parsing, one-line
error messages (exit codes: ``docs/bids_app.rst``)."""

# SPDX-License-Identifier: BSD-3-Clause

import argparse
import sys

__all__ = ["EX_USAGE", "ArgumentParser", "parse_arguments", "print_error"]

#: Exit code of a usage error (``sysexits.h`` EX_USAGE).
EX_USAGE = 64


class ArgumentParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors exit 64 (EX_USAGE) with a one-line message."""

    def error(self, message):
        self.exit(
            EX_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n"
        )


def parse_arguments(parser, argv):
    """Parse ``argv`` without letting argparse end the process.

    Parameters
    ----------
    parser : argparse.ArgumentParser
    argv : list of str or None
        Arguments without the program name (None: ``sys.argv[1:]``).

    Returns
    -------
    args : argparse.Namespace or None
        The parsed arguments, or None when argparse exited (``--help``,
        ``--version``, a usage error).
    code : int or None
        The exit code argparse asked for (0 after ``--help``, 64 on a usage error),
        or None when ``args`` is set.
    """
    try:
        return parser.parse_args(argv), None
    except SystemExit as exc:
        return None, exc.code if isinstance(exc.code, int) else EX_USAGE


def print_error(prog, message):
    """Write ``prog: error: message`` to stderr as one line (whitespace collapsed)."""
    message = " ".join(str(message).split())
    print(f"{prog}: error: {message}", file=sys.stderr)
