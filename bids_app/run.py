"""Entry point of the ``eeg2fmri`` BIDS-App: parse, check, run levels, exit codes.

Expected errors (a bad flag, an invalid dataset, missing files, unusable data) end the
run with a one-line message on stderr and the exit code of the BIDS-Apps execution
spec; only an unexpected exception writes a traceback, to a crash log under
``<output_dir>/logs/``, and exits 70.
"""

import datetime
import json
import logging
import os
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

from eeg2fmri._utils.cli import parse_arguments, print_error
from eeg2fmri._utils.logging import logger
from eeg2fmri._version import __version__
from eeg2fmri.exceptions import (
    EXIT_CODES,
    Eeg2fmriError,
    InvalidDatasetError,
    MissingInputError,
)

from .config import Config, UsageError
from .parser import LEVELS, build_parser

__all__ = ["main", "config_from_args", "check_paths", "validate_bids"]

PROG = "eeg2fmri"


class _StderrHandler(logging.StreamHandler):
    """Writes to the *current* ``sys.stderr`` (pytest's capsys swaps it)."""

    def __init__(self):
        super().__init__(sys.stderr)

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


class _LevelError(Eeg2fmriError):
    exit_code = EXIT_CODES["unknown_level"]


def config_from_args(opts, argv=()):
    """Merge defaults, ``--config-file`` and the given flags into a :class:`Config`."""
    given = vars(opts).copy()
    config_file = given.pop("config_file", None)
    given["command"] = (PROG, *argv)
    if config_file is not None:
        return Config.load(config_file, **given)
    return Config.from_dict(given)


def _is_relative_to(path, other):
    try:
        Path(path).resolve().relative_to(Path(other).resolve())
    except ValueError:
        return False
    return True


def check_paths(config):
    """Refuse unsafe or impossible paths (one-line errors).

    Raises
    ------
    MissingInputError
        ``bids_dir`` (or another input file) does not exist.
    UsageError
        ``output_dir`` is ``bids_dir`` or inside it (other than under
        ``<bids_dir>/derivatives``), ``bids_dir`` is inside ``output_dir``, or the
        work dir is inside ``bids_dir``.
    """
    bids_dir = config.bids_dir
    if not bids_dir.is_dir():
        raise MissingInputError(f"BIDS dataset folder not found: {bids_dir}.")
    for name in ("bids_filter_file", "eeg_derivatives", "model"):
        value = getattr(config, name)
        if value is not None and not value.exists():
            flag = "--" + name.replace("_", "-")
            raise MissingInputError(f"{flag}: path not found: {value}.")
    suggestion = bids_dir / "derivatives" / "eeg2fmri"
    out = config.output_dir
    if out.resolve() == bids_dir.resolve():
        raise UsageError(
            "The output folder is the input BIDS folder; choose another one "
            f"(suggestion: {suggestion})."
        )
    if _is_relative_to(out, bids_dir) and not _is_relative_to(
        out, bids_dir / "derivatives"
    ):
        raise UsageError(
            f"The output folder {out} is inside the input BIDS folder; the input is "
            f"never written to (suggestion: {suggestion})."
        )
    if _is_relative_to(bids_dir, out):
        raise UsageError(
            f"The input BIDS folder {bids_dir} is inside the output folder {out}; "
            f"choose another output folder (suggestion: {suggestion})."
        )
    work = config.work_dir.absolute()
    if _is_relative_to(work, bids_dir):
        raise UsageError(
            f"The work folder {work} is inside the input BIDS folder; the input is "
            "never written to (use -w/--work-dir elsewhere)."
        )
    if _is_relative_to(work, out) and work.resolve() != out.resolve():
        logger.warning(
            "The work folder %s is inside the output folder; list it in .bidsignore "
            "or move it for the output to validate.", work
        )


def _find_validator():
    exe = shutil.which("bids-validator-deno")
    if exe is None:
        candidate = Path(sys.executable).parent / "bids-validator-deno"
        exe = str(candidate) if candidate.exists() else None
    return exe


def validate_bids(bids_dir, participant_label=None, timeout=600):
    """Run ``bids-validator-deno`` on the input; raise on errors.

    Participants that are not selected are ignored (as fMRIPrep does). When the
    validator is not installed, a warning is logged and the run goes on.

    Raises
    ------
    InvalidDatasetError
        The validator reported errors (exit code 16): the message names the first one
        and how many there are.
    """
    exe = _find_validator()
    if exe is None:
        logger.warning(
            "bids-validator-deno is not installed; the input was not validated "
            "(pip install 'eeg2fmri[validate]', or pass --skip-bids-validation)."
        )
        return None
    cmd = [exe, str(bids_dir), "--format", "json"]
    logger.info("Validating %s with bids-validator-deno", bids_dir)
    try:
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False,
            cwd=os.getcwd(),
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        logger.warning(
            "bids-validator-deno could not run (%s); skipping validation", err
        )
        return None
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        if proc.returncode == 0:
            return None
        logger.warning(
            "bids-validator-deno exited %d without a readable report; skipping "
            "validation", proc.returncode,
        )
        return None
    issues = report.get("issues", {}).get("issues", [])
    selected = {f"sub-{p}" for p in participant_label or ()}

    def _relevant(issue):
        loc = str(issue.get("location") or "")
        sub = loc.strip("/").split("/", 1)[0]
        return not (selected and sub.startswith("sub-") and sub not in selected)

    errors = [i for i in issues if i.get("severity") == "error" and _relevant(i)]
    if errors:
        first = errors[0]
        where = f" at {first['location']}" if first.get("location") else ""
        extra = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        raise InvalidDatasetError(
            f"{bids_dir} failed BIDS validation: {first.get('code')}{where}{extra}; "
            "run bids-validator-deno on it for details, or pass --skip-bids-validation."
        )
    return report


def _setup_logging(verbose):
    level = logging.DEBUG if verbose else logging.INFO
    handler = _StderrHandler()
    handler.setFormatter(
        logging.Formatter("%(asctime)s | %(levelname)-7s | %(message)s", "%H:%M:%S")
    )
    handler.setLevel(level)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    return handler


def _add_file_log(log_dir, stamp):
    log_dir.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_dir / f"eeg2fmri_{stamp}.log", encoding="utf-8")
    handler.setFormatter(
        logging.Formatter("%(asctime)s | %(levelname)-7s | %(name)s | %(message)s")
    )
    handler.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return handler


def _write_crash_log(log_dir, stamp, exc):
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    for folder in (log_dir, Path.cwd()):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"crash_{stamp}.txt"
            path.write_text(
                f"eeg2fmri {__version__}\ncommand: {' '.join(sys.argv)}\n\n{text}",
                encoding="utf-8",
            )
            return path
        except OSError:
            continue
    return None


def _print_error(message):
    print_error(PROG, message)


def main(argv=None):
    """Run the BIDS-App; returns the exit code (0 on success).

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    code : int
        0 success; 16 invalid dataset; 17 unknown level; 18 nothing matches the
        selection; 64 usage error; 65 unusable data; 66 missing input; 70 software
        error.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(PROG)
    opts, code = parse_arguments(parser, argv)  # --help, --version, usage errors
    if opts is None:
        return code

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    previous_level = logger.level
    handlers = [_setup_logging(getattr(opts, "verbose", 0))]
    log_dir = Path(opts.output_dir) / "logs"
    try:
        config = config_from_args(opts, argv)
        unknown = [lvl for lvl in config.analysis_level if lvl not in LEVELS]
        if unknown:
            raise _LevelError(
                f"Unknown analysis level {unknown[0]!r}; expected one or more of "
                f"{', '.join(LEVELS)}."
            )
        check_paths(config)
        log_dir = config.output_dir / "logs"
        handlers.append(_add_file_log(log_dir, stamp))
        config.to_filename(log_dir / f"config_{stamp}.toml")
        config.to_filename(log_dir / "config.toml")
        logger.info("eeg2fmri %s: %s", __version__, " ".join(config.command))

        from .workflow import run_group, run_participants, setup_threads

        setup_threads(config)
        if "participant" in config.analysis_level:
            if not config.skip_bids_validation:
                validate_bids(config.bids_dir, config.participant_label)
            run_participants(config)
        if "group" in config.analysis_level:
            run_group(config)
        logger.info("Done. Outputs in %s", config.output_dir)
        return 0
    except (Eeg2fmriError, UsageError) as exc:
        logger.debug("exit %s: %s", getattr(exc, "exit_code", 64), exc)  # log file
        _print_error(exc)
        return int(getattr(exc, "exit_code", 64))
    except KeyboardInterrupt:
        _print_error("interrupted; completed files are kept, re-run to resume.")
        return 130
    except Exception as exc:
        logger.debug("unexpected error", exc_info=True)  # log file (console: -v)
        crash = _write_crash_log(log_dir, stamp, exc)
        where = f"; traceback in {crash}" if crash else ""
        _print_error(f"unexpected {type(exc).__name__}: {exc}{where}")
        return EXIT_CODES["software_error"]
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()
        logger.setLevel(previous_level)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
