"""Errors of the permits package, with messages an applicant or officer can read.

Each carries a stable ``code`` and its HTTP meaning (``http_status``): the API maps them
to ``{"code", "description"}`` once, pages to a form error or a message.
"""


class PermitsError(Exception):
    """Base of the permits errors."""

    code = "invalid"
    http_status = 400


class InvalidApplication(PermitsError):
    """The application cannot be submitted as it is."""

    code = "invalid_application"


class InvalidAttachment(PermitsError):
    """An uploaded file is not accepted; the message says why."""

    code = "invalid_attachment"


class NotEditable(PermitsError):
    """The application has been submitted and can no longer be changed by the applicant."""

    code = "not_editable"
    http_status = 409


class AppendOnly(PermitsError):
    """Someone tried to change or remove a row of the audit trail."""

    code = "append_only"
    http_status = 409


class IllegalTransition(PermitsError):
    """The case cannot make that move from where it is (or someone moved it first)."""

    code = "illegal_transition"
    http_status = 409


class NotAllowed(PermitsError):
    """The user's role in the case's municipality does not allow this."""

    code = "not_allowed"
    http_status = 403


class InvalidCasework(PermitsError):
    """What was given for a move is missing or wrong (a date, a reason, a fee)."""

    code = "invalid_input"
