"""Errors of the OGC API: each answers ``{"code", "description"}`` with its HTTP status.

The codes are the exception codes OGC API servers use (pygeoapi, OGC API - Common).
"""

from __future__ import annotations

from geodata.errors import GeodataError


class PublishError(GeodataError):
    """Base of the errors the OGC API answers with."""

    code = "NoApplicableCode"
    http_status = 500


class InvalidParameter(PublishError):
    """A query parameter is unknown or its value cannot be used (400)."""

    code = "InvalidParameterValue"
    http_status = 400


class InvalidFilter(InvalidParameter):
    """A CQL2 filter cannot be parsed or names what a collection cannot be queried by."""

    code = "InvalidFilter"


class NotFound(PublishError):
    """No such collection or feature (404)."""

    code = "NotFound"
    http_status = 404

