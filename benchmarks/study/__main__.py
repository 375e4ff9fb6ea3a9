"""``python -m benchmarks.study`` (from the repository root) runs the study."""

import sys
from pathlib import Path

if not __package__:  # ``python benchmarks/study``: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.study.cli import main

if __name__ == "__main__":
    main()
