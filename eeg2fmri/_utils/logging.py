"""The package logger and the ``verbose`` convention.

``verbose`` follows scikit-learn: 0 is quiet (warnings only), 1 shows progress and
per-epoch summaries, 2 and more show debug detail.
"""

import logging

logger = logging.getLogger("eeg2fmri")
logger.addHandler(logging.NullHandler())


def set_log_level(verbose):
    """Set the package log level from a scikit-learn style ``verbose`` integer.

    Parameters
    ----------
    verbose : int or bool
        0 → WARNING, 1 → INFO, 2 or more → DEBUG.
    """
    level = logging.WARNING
    if verbose and int(verbose) >= 2:
        level = logging.DEBUG
    elif verbose:
        level = logging.INFO
    logger.setLevel(level)
    if not any(not isinstance(h, logging.NullHandler) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(
            logging.Formatter(
                "%(asctime)s %(name)s %(levelname)s: %(message)s", "%H:%M:%S"
            )
        )
        logger.addHandler(handler)
    return level
