"""Errors of exports: each a 400 with a message a user can read (Swedish first)."""

from __future__ import annotations

from geodata.errors import InvalidInput


class ExportError(InvalidInput):
    """An export cannot be made as asked; the message says why."""

    code = "export_invalid"
    http_status = 400


class UnknownLayer(ExportError):
    """No exportable layer has that name."""

    code = "unknown_layer"


class UnknownFormat(ExportError):
    """No export format has that name."""

    code = "unknown_format"


class UnsupportedExportCRS(ExportError):
    """The CRS is a real one, but not one exports are made in (or not for this format)."""

    code = "unsupported_export_crs"


class InvalidArea(ExportError):
    """A bbox or polygon filter cannot be used (form, order, outside Sweden, too large)."""

    code = "invalid_area"


class UnknownMunicipalityFilter(ExportError):
    """The municipality filter names no Swedish municipality."""

    code = "unknown_municipality"
