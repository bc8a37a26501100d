"""Forms: parse and validate input; the services decide."""

from permits.forms.applicant import CompletionForm, DraftForm, FeedbackForm, GuidanceForm

__all__ = ["CompletionForm", "DraftForm", "FeedbackForm", "GuidanceForm"]
