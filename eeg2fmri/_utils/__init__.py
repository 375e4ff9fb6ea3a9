"""Private helpers shared across eeg2fmri (logging, atomic writes, validation)."""
