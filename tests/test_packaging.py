"""Every install requirement is imported by the library; the rest lives in extras."""

import configparser
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: distribution name -> module it installs, where they differ
IMPORT_NAMES = {
    "scikit-learn": "sklearn",
    "pybids": "bids",
    "mne-bids": "mne_bids",
    "tomli-w": "tomli_w",
}


def _requirements(section, key):
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = cfg[section][key].strip().splitlines()
    return [re.split(r"[<>=!;\[ ]", line.strip(), maxsplit=1)[0] for line in lines
            if line.strip()]


def _imports():
    """Top-level modules imported anywhere in eeg2fmri/ and bids_app/ (also inside
    functions: heavy libraries are imported lazily)."""
    pattern = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)
    found = set()
    for package in ("eeg2fmri", "bids_app"):
        for path in (ROOT / package).rglob("*.py"):
            found.update(pattern.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_install_requirement_is_imported():
    imported = _imports()
    requirements = _requirements("options", "install_requires")
    assert "pybids" in requirements and "mne-bids" in requirements
    unused = [r for r in requirements
              if IMPORT_NAMES.get(r, r.replace("-", "_")) not in imported]
    assert unused == [], f"install_requires not imported by the package: {unused}"


def test_test_and_docs_only_packages_are_extras():
    requirements = set(_requirements("options", "install_requires"))
    for extra in ("dev", "docs", "eeglab", "validate", "cuda"):
        assert _requirements("options.extras_require", extra)
    # used by the test suite (mne's EDF export) or optional readers, not the library
    for name in ("edfio", "eeglabio", "pymatreader", "pytest", "torchmetrics",
                 "sphinx", "bids-validator-deno"):
        assert name not in requirements, name


def test_deprecated_modules_warn_and_give_the_moved_names():
    import importlib

    import pytest

    import eeg2fmri

    for old, name in (("eeg2fmri.estimator", "MeanVolumeRegressor"),
                      ("eeg2fmri.linear", "BandPowerRidge")):
        module = importlib.import_module(old)
        with pytest.warns(DeprecationWarning, match=f"{old}.{name} moved to "
                          f"eeg2fmri.estimators.{name}") as record:
            value = getattr(module, name)
        assert value is getattr(eeg2fmri, name)
        assert record[0].filename == __file__  # points at the caller
        with pytest.raises(AttributeError, match=f"'{old}' has no attribute 'nope'"):
            _ = module.nope
