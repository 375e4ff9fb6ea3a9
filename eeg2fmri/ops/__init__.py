"""Low-level operators: the selective scan and its backends."""

from .selective_scan import selective_scan, selective_scan_ref

__all__ = ["selective_scan", "selective_scan_ref"]
