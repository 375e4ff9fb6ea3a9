"""The documentation's generated parts are current."""

from pathlib import Path

import pytest

from eeg2fmri._cli_help import cli_help_texts, write_cli_help

DOCS = Path(__file__).resolve().parents[1] / "docs"


@pytest.mark.parametrize("name", sorted(cli_help_texts()))
def test_committed_cli_help_matches_the_parsers(name):
    committed = (DOCS / name).read_text(encoding="utf-8")
    assert committed == cli_help_texts()[name], (
        f"docs/{name} is stale; rebuild the docs or run "
        "python -c 'from eeg2fmri._cli_help import write_cli_help; "
        "write_cli_help(\"docs\")'"
    )


def test_write_cli_help_rewrites_only_changed_files(tmp_path):
    write_cli_help(tmp_path)
    texts = cli_help_texts()
    assert {p.name for p in tmp_path.iterdir()} == set(texts)
    stale = tmp_path / "cli_demo_help.txt"
    stale.write_text("old", encoding="utf-8")
    untouched = tmp_path / "cli_simulate_help.txt"
    mtime = untouched.stat().st_mtime_ns
    write_cli_help(tmp_path)
    assert stale.read_text(encoding="utf-8") == texts["cli_demo_help.txt"]
    assert untouched.stat().st_mtime_ns == mtime
    assert "--participant-label" in texts["cli_eeg2fmri_help.txt"]


@pytest.mark.parametrize(
    "page",
    sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.rst")
           if ">>>" in p.read_text(encoding="utf-8")),
)
def test_doctests_of_the_docs_pages_hold(page):
    import doctest

    result = doctest.testfile(
        str(DOCS / page), module_relative=False,
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE,
    )
    assert result.attempted > 0
    assert result.failed == 0, f"docs/{page}: {result.failed} doctest(s) failed"


def test_doc_filler_puts_shared_entries_at_the_placeholder_indentation():
    from eeg2fmri._utils.docs import doc_filler

    fill = doc_filler({"tr": """
        tr : float
            Repetition time (s).
        """})

    @fill
    def f(tr):
        """One line, 100% plain.

        Parameters
        ----------
        %(tr)s
        """

    assert f.__doc__ == (
        "One line, 100% plain.\n\n        Parameters\n        ----------\n"
        "        tr : float\n            Repetition time (s).\n        "
    )

    def g():
        """%(nope)s"""

    with pytest.raises(KeyError, match="nope"):
        fill(g)


def test_shared_estimator_docs_are_filled_everywhere():
    import eeg2fmri
    from eeg2fmri.estimators.base import BaseVolumeRegressor

    documented = [eeg2fmri.BandPowerRidge, eeg2fmri.Spec2VolEstimator,
                  eeg2fmri.MeanVolumeRegressor.fit, eeg2fmri.BandPowerRidge.fit,
                  BaseVolumeRegressor.predict, BaseVolumeRegressor.score]
    for obj in documented:
        assert "%(" not in obj.__doc__, obj
    assert "output_shape : tuple of 3 ints, optional\n        ``(D, H, W)`` of" in (
        eeg2fmri.BandPowerRidge.__doc__
    )
