"""Errors of the geodata package: each carries a message a user can read.

Each error has a stable ``code`` and its HTTP meaning (``http_status``): the API maps them
to ``{"code", "description"}`` once (``geodata/api.py``), pages to a form error. A source
that is down is 503, one that answers with something unusable 502, bad input 400.
"""

from __future__ import annotations


class GeodataError(Exception):
    """Base of every error raised by geodata."""

    code = "geodata_error"
    http_status = 500


class SourceError(GeodataError):
    """A registered source failed; ``source`` names it."""

    code = "source_error"
    http_status = 502

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message


class SourceUnavailable(SourceError):
    """The source could not be reached or did not answer in time."""

    code = "source_unavailable"
    http_status = 503


class SourceResponseError(SourceError):
    """The source answered, but with something we cannot use."""

    code = "source_response_error"


class PagingUnstable(SourceResponseError):
    """Paging repeated or skipped features (an unstable order, or data changed meanwhile)."""

    code = "paging_unstable"


class IncompleteRead(PagingUnstable):
    """Paging ended before the server's count was read: the layer was not read to the end."""

    code = "incomplete_read"


class CRSMismatch(GeodataError):
    """A coordinate reference system is unknown or not the one expected."""

    code = "crs_mismatch"
    http_status = 400


class UnknownCRS(CRSMismatch):
    """A CRS given as text could not be read, or is not one Lovkarta supports."""

    code = "unknown_crs"


class UnknownSource(GeodataError):
    """No source is registered under that name."""

    code = "unknown_source"
    http_status = 404


class UnsupportedSource(GeodataError):
    """A source's protocol or contents cannot be synced into the cache."""

    code = "unsupported_source"
    http_status = 400


class InvalidInput(GeodataError):
    """A request or a posted value cannot be used; the message says why."""

    code = "invalid_input"
    http_status = 400


class InvalidGeometry(InvalidInput):
    """Posted GeoJSON is not a geometry we accept (type, structure, validity)."""

    code = "invalid_geometry"


class LimitExceeded(InvalidInput):
    """Input goes beyond a configured limit; ``limit`` names the setting, ``value`` its value."""

    code = "limit_exceeded"

    def __init__(self, message: str, *, limit: str, value: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.value = value


class TooManyVertices(LimitExceeded):
    """A geometry has more vertices than ``LOVKARTA_GEOMETRY_MAX_VERTICES``."""

    code = "too_many_vertices"


class TooManyParts(LimitExceeded):
    """A geometry has more parts than ``LOVKARTA_GEOMETRY_MAX_PARTS``."""

    code = "too_many_parts"


class TooDeep(LimitExceeded):
    """JSON is nested deeper than ``LOVKARTA_JSON_MAX_DEPTH``."""

    code = "too_deep"


class RequestTooLarge(LimitExceeded):
    """A request body is larger than ``LOVKARTA_API_MAX_BODY_BYTES``."""

    code = "request_too_large"
    http_status = 413
