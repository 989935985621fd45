"""The product's one error hierarchy, and the specific errors for bad scans.

::

    WeldError                      root of every error raised on purpose; ``reason`` code
    ├── PermanentError             the same input fails again: refuse / quarantine, never retry
    │   ├── ScanError ...          a scan or height map cannot be used (this module)
    │   ├── ConfigError            point_cloud.config: a config file is invalid
    │   ├── TriggerError           inspector.service.intake: an MQTT trigger is refused
    │   └── BundleError            inspector.decision.bundle: a model bundle cannot be used
    └── TransientError             may succeed later: retried by inspector.service.retry
        └── StoreUnavailableError  the database cannot be reached or is locked

Every scan error names the file, the field (or property) at fault and what was expected,
so a quarantine reason file or a log line is enough to fix the problem at the scanner. No
message quotes file content: ``found`` holds sizes, counts, types or the value of a field
the product itself parsed and bounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar


class WeldError(Exception):
    """Root of the product's errors; ``reason`` is a short machine code."""

    reason: str = "error"
    transient: ClassVar[bool] = False


class PermanentError(WeldError):
    """Retrying the same input cannot help (bad scan, bad message, bad config)."""


class TransientError(WeldError):
    """A resource is unavailable for now; :mod:`inspector.service.retry` retries it."""

    transient: ClassVar[bool] = True


class StoreUnavailableError(TransientError):
    """The database cannot be reached (or is locked) right now."""

    reason: str = "store_unavailable"


class ScanError(PermanentError, ValueError):
    """Base class: a scan (or height map) cannot be used. ``reason`` is a short machine code."""

    reason: str = "scan_error"

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

    reason: str = "not_found"


class UnsupportedFormatError(ScanError):
    """The file extension is not one of the scan contract's formats."""

    reason: str = "unsupported_format"


class CorruptScanError(ScanError):
    """The file is truncated or cannot be parsed."""

    reason: str = "corrupt"


class ScanShapeError(ScanError):
    """An array has the wrong shape or dtype."""

    reason: str = "bad_shape"


class NoFinitePointsError(ScanError):
    """Every point is NaN or infinite."""

    reason: str = "no_finite_points"


class TooFewPointsError(ScanError):
    """Fewer points than the configured minimum."""

    reason: str = "too_few_points"


class IdentityError(ScanError):
    """The scan's identity (weld id, type, serial) is missing or malformed."""

    reason: str = "bad_identity"


class IdentityConflictError(IdentityError):
    """The sidecar contradicts the file name (or the trigger message)."""

    reason: str = "identity_conflict"


class SidecarError(ScanError):
    """A JSON sidecar is missing, unreadable or lacks a field."""

    reason: str = "bad_sidecar"


class PrepareError(ScanError):
    """The cloud cannot be levelled or aligned (no plate plane, no bead)."""

    reason: str = "prepare_failed"


class NoBeadFoundError(PrepareError):
    """No weld bead could be found in the scan."""

    reason: str = "no_bead"


class NotRegularFileError(ScanError):
    """A spool entry is a directory, FIFO, device or link: it is never opened or followed."""

    reason: str = "not_a_regular_file"


class ScanTooLargeError(ScanError):
    """The file or its declared point count is beyond the configured bounds."""

    reason: str = "too_large"


class CoordinateRangeError(ScanError):
    """Coordinates beyond any physical scan (e.g. 1e30 mm, or a wrong byte order)."""

    reason: str = "coordinates_out_of_range"


class PoisonScanError(ScanError):
    """A scan that was in flight when the daemon stopped abnormally, too many times."""

    reason: str = "poison"
