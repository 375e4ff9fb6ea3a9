"""``python -m bids_app``: the eeg2fmri BIDS-App."""

import sys

from .run import main

if __name__ == "__main__":
    sys.exit(main())
