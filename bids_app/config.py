"""Settings of one BIDS-App run: a frozen dataclass with a TOML round trip.

Precedence, lowest first: the defaults below, a ``--config-file`` TOML (for example
the ``logs/config.toml`` that an earlier run wrote), flags given on the command line.
The effective settings of every run are saved to ``<output_dir>/logs/config.toml``.
"""

import dataclasses
import sys
from dataclasses import dataclass, field, fields
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import tomli_w

from eeg2fmri.exceptions import MissingInputError

# what --recipe and --model-name accept (the library's; importing it is light)
from eeg2fmri.pipeline.models import DEFAULT_MODELS, LINEAR_MODELS, RECIPES

__all__ = ["Config", "UsageError", "load_toml", "RECIPES", "LINEAR_MODELS"]

#: Choices of --eeg-correction (= eeg2fmri.artifacts.ARTIFACT_CORRECTIONS, kept here
#: so that the parser imports nothing heavy).
EEG_CORRECTIONS = ("detect", "none", "gradient", "gradient+pulse")

_PATH_FIELDS = (
    "bids_dir",
    "output_dir",
    "work_dir",
    "bids_filter_file",
    "eeg_derivatives",
    "model",
)


class UsageError(ValueError):
    """A bad command line or configuration (exit code 64)."""

    exit_code = 64


@dataclass(frozen=True)
class Config:
    """Effective settings of a run (see ``eeg2fmri --help`` for each option)."""

    bids_dir: Path = None
    output_dir: Path = None
    analysis_level: tuple = ("participant",)
    # BIDS selection
    participant_label: tuple = None
    session_label: tuple = None
    task_id: str = None
    bids_filter_file: Path = None
    eeg_derivatives: Path = None
    skip_bids_validation: bool = False
    volume_marker: str = "auto"
    require_triggers: bool = False
    eeg_correction: str = "detect"
    # performance
    work_dir: Path = Path("work")
    nprocs: int = None
    omp_nthreads: int = None
    device: str = "auto"
    random_seed: int = 0
    # model and training
    model: Path = None
    recipe: str = "default"
    model_name: str = None
    epochs: int = None
    batch_size: int = 16
    lr: float = None
    n_context: int = 20
    discard_volumes: int = 6
    max_interpolated: float = 0.25
    tr: float = None
    ridge_comparison: bool = True
    save_model: bool = False
    verbose: int = 0
    # not an option: the command that produced the run
    command: tuple = field(default=(), compare=False)

    def __post_init__(self):
        for name in _PATH_FIELDS:
            value = getattr(self, name)
            if value is not None and not isinstance(value, Path):
                object.__setattr__(self, name, Path(value).expanduser())
        for name in ("analysis_level", "participant_label", "session_label", "command"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = (value,)
            if value is not None:
                object.__setattr__(self, name, tuple(str(v) for v in value))
        for name, prefix in (("participant_label", "sub-"), ("session_label", "ses-")):
            value = getattr(self, name)
            if value:
                stripped = tuple(v[len(prefix):] if v.startswith(prefix) else v
                                 for v in value)
                object.__setattr__(self, name, tuple(dict.fromkeys(stripped)))
        for name in ("nprocs", "omp_nthreads", "epochs", "batch_size", "n_context"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise UsageError(f"{name} must be a positive integer, got {value!r}.")
        if self.discard_volumes < 0:
            raise UsageError(
                f"discard_volumes must be >= 0, got {self.discard_volumes!r}."
            )
        if not (isinstance(self.max_interpolated, int | float)
                and 0 <= self.max_interpolated <= 1):
            raise UsageError(
                f"max_interpolated must be a fraction in [0, 1], got "
                f"{self.max_interpolated!r}."
            )
        if self.tr is not None and not self.tr > 0:
            raise UsageError(
                f"tr must be a positive number of seconds, got {self.tr!r}."
            )
        if self.lr is not None and not self.lr > 0:
            raise UsageError(f"lr must be a positive number, got {self.lr!r}.")
        if self.eeg_correction not in EEG_CORRECTIONS:
            raise UsageError(
                f"eeg_correction must be one of {', '.join(EEG_CORRECTIONS)}, got "
                f"{self.eeg_correction!r}."
            )
        if self.recipe not in RECIPES:
            raise UsageError(
                f"recipe must be one of {', '.join(RECIPES)}, got {self.recipe!r}."
            )

    @property
    def model_choice(self):
        """(model name, reason): ``--model-name``, else the recipe's default."""
        if self.model_name:
            return self.model_name, "--model-name"
        return DEFAULT_MODELS[self.recipe]

    @classmethod
    def from_dict(cls, values):
        """Build from a dict, refusing unknown keys with a suggestion."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            import difflib

            hints = [
                f"{k} (did you mean {m[0]}?)" if (m := difflib.get_close_matches(
                    k, known, n=1)) else k
                for k in unknown
            ]
            raise UsageError(f"Unknown configuration key(s): {', '.join(hints)}.")
        return cls(**values)

    def replace(self, **changes):
        """Copy with some settings changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """Plain dict (Paths as strings, tuples as lists, None left out)."""
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if isinstance(value, Path):
                value = str(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def to_toml(self):
        """The settings as TOML text."""
        return tomli_w.dumps(self.to_dict())

    def to_filename(self, path):
        """Save the settings as TOML (atomic write); returns the path."""
        from eeg2fmri._utils.io import write_text_atomic

        return write_text_atomic(path, self.to_toml())

    @classmethod
    def load(cls, path, **overrides):
        """Read a TOML settings file; ``overrides`` win over its values."""
        values = load_toml(path)
        values.pop("command", None)
        values.update(overrides)
        return cls.from_dict(values)


def load_toml(path):
    """Read a TOML file into a dict, with one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise MissingInputError(f"Configuration file not found: {path}.")
    try:
        with open(path, "rb") as fid:
            values = tomllib.load(fid)
    except tomllib.TOMLDecodeError as err:
        raise UsageError(
            f"Configuration file {path} is not valid TOML: {err}."
        ) from None
    # accept an fMRIPrep-like layout with sections: flatten one level
    flat = {}
    for key, value in values.items():
        if isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat
