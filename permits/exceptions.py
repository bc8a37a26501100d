"""Errors of the permits package, with messages an applicant or officer can read."""


class PermitsError(Exception):
    """Base of the permits errors."""


class InvalidApplication(PermitsError):
    """The application cannot be submitted as it is."""
