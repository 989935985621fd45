"""Specific errors for bad scans and height maps.

Every error names the file, the field (or property) at fault and what was expected, so a
quarantine reason file or a log line is enough to fix the problem at the scanner.
"""

from __future__ import annotations

from pathlib import Path


class ScanError(ValueError):
    """Base class: a scan (or height map) cannot be used. ``reason`` is a short machine code."""

    reason = "scan_error"

    def __init__(self, path: str | Path | None, field: str, expected: str, found: str = "") -> None:
        self.path = str(path) if path is not None else "<memory>"
        self.field = field
        self.expected = expected
        self.found = found
        detail = f"{self.path}: {field}: expected {expected}"
        if found:
            detail += f", found {found}"
        super().__init__(detail)

    def __reduce__(self) -> tuple[type[ScanError], tuple[str, str, str, str]]:
        """Rebuild from the constructor's arguments (errors cross process-pool boundaries)."""
        return type(self), (self.path, self.field, self.expected, self.found)


class ScanNotFoundError(ScanError, FileNotFoundError):
    """The scan file does not exist."""

    reason = "not_found"


class UnsupportedFormatError(ScanError):
    """The file extension is not one of the scan contract's formats."""

    reason = "unsupported_format"


class CorruptScanError(ScanError):
    """The file is truncated or cannot be parsed."""

    reason = "corrupt"


class ScanShapeError(ScanError):
    """An array has the wrong shape or dtype."""

    reason = "bad_shape"


class NoFinitePointsError(ScanError):
    """Every point is NaN or infinite."""

    reason = "no_finite_points"


class TooFewPointsError(ScanError):
    """Fewer points than the configured minimum."""

    reason = "too_few_points"


class IdentityError(ScanError):
    """The scan's identity (weld id, type, serial) is missing or malformed."""

    reason = "bad_identity"


class IdentityConflictError(IdentityError):
    """The sidecar contradicts the file name (or the trigger message)."""

    reason = "identity_conflict"


class SidecarError(ScanError):
    """A JSON sidecar is missing, unreadable or lacks a field."""

    reason = "bad_sidecar"


class PrepareError(ScanError):
    """The cloud cannot be levelled or aligned (no plate plane, no bead)."""

    reason = "prepare_failed"


class NoBeadFoundError(PrepareError):
    """No weld bead could be found in the scan."""

    reason = "no_bead"
