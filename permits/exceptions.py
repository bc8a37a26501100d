"""Errors of the permits package, with messages an applicant or officer can read."""


class PermitsError(Exception):
    """Base of the permits errors."""


class InvalidApplication(PermitsError):
    """The application cannot be submitted as it is."""


class InvalidAttachment(PermitsError):
    """An uploaded file is not accepted; the message says why."""


class NotEditable(PermitsError):
    """The application has been submitted and can no longer be changed by the applicant."""
