"""Sphinx configuration for the eeg2fmri documentation (builds offline)."""

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("MPLBACKEND", "Agg")

import eeg2fmri
from eeg2fmri._cli_help import write_cli_help

# the CLI reference (cli.rst) includes the --help of every command, regenerated here
write_cli_help(Path(__file__).resolve().parent)

project = "eeg2fmri"
author = "eeg2fmri developers"
release = eeg2fmri.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.viewcode",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
numpydoc_show_class_members = False
intersphinx_mapping = {}  # offline build: no inventories are fetched

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
}

html_theme = "pydata_sphinx_theme" if __import__("importlib").util.find_spec(
    "pydata_sphinx_theme") else "alabaster"
html_title = f"eeg2fmri {release}"
exclude_patterns = [
    "_build",
    "auto_examples/*.ipynb",
    "auto_examples/*.py",
    "study/results.rst",  # included by study.rst
]
