"""Atomic file writing: every output goes to a temporary file, then is renamed.

An interrupted run therefore never leaves a half-written file behind; a re-run finds
either the complete file or nothing.
"""

import contextlib
import json
import os
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "write_json_atomic", "write_text_atomic"]


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path next to ``path``; rename it onto ``path`` on success.

    Parameters
    ----------
    path : str or Path
        Final destination. Parent folders are created.
    suffix : str, optional
        Suffix of the temporary file (defaults to the full suffix of ``path``, so that
        writers that look at the extension, e.g. nibabel's ``.nii.gz``, still work).

    Yields
    ------
    tmp : Path
        Where to write. Removed if the block raises.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix is None:
        suffix = "".join(path.suffixes) or ".tmp"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    # mkstemp creates 0600 files; outputs should get the usual umask-based mode
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text_atomic(path, text):
    """Write ``text`` (UTF-8) to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_json_atomic(path, obj, indent=2):
    """Write ``obj`` as JSON to ``path`` atomically and return the path."""
    text = json.dumps(obj, indent=indent, sort_keys=False) + "\n"
    return write_text_atomic(path, text)
