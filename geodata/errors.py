"""Errors of the geodata package: each carries a message a user can read."""

from __future__ import annotations


class GeodataError(Exception):
    """Base of every error raised by geodata."""


class SourceError(GeodataError):
    """A registered source failed; ``source`` names it."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.detail = message


class SourceUnavailable(SourceError):
    """The source could not be reached or did not answer in time."""


class SourceResponseError(SourceError):
    """The source answered, but with something we cannot use."""


class PagingUnstable(SourceResponseError):
    """Paging repeated or skipped features (an unstable order, or data changed meanwhile)."""


class IncompleteRead(PagingUnstable):
    """Paging ended before the server's count was read: the layer was not read to the end."""


class CRSMismatch(GeodataError):
    """A coordinate reference system is unknown or not the one expected."""


class UnknownSource(GeodataError):
    """No source is registered under that name."""


class UnsupportedSource(GeodataError):
    """A source's protocol or contents cannot be synced into the cache."""
