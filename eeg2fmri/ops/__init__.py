"""Low-level operators: the selective scan, its backends, and SS2D's cross-scan."""

from .cross_scan import cross_merge, cross_scan
from .selective_scan import (
    BACKENDS,
    available_backends,
    selective_scan,
    selective_scan_cpu,
    selective_scan_ref,
)

__all__ = [
    "BACKENDS",
    "available_backends",
    "cross_merge",
    "cross_scan",
    "selective_scan",
    "selective_scan_cpu",
    "selective_scan_ref",
]
