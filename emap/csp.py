"""The Content-Security-Policy of pages that show a map (django-csp).

The policy itself lives in the settings (``CONTENT_SECURITY_POLICY``): scripts and styles
only from our own static files. A page with a map also shows background tiles from the
map server of its source; :mod:`emap.templatetags.emap` notes those origins on the
request as it puts the map on the page, and this middleware adds them to that response's
``img-src`` (and to a report-only policy's, if one is set): no other page may load images
from there.
"""

from __future__ import annotations

from csp.middleware import CSPMiddleware, PolicyParts
from django.http import HttpRequest, HttpResponseBase

from emap.templatetags.emap import REQUEST_ATTRIBUTE


class MapCSPMiddleware(CSPMiddleware):
    """django-csp's middleware, adding the tile origins of the page's maps to img-src."""

    def get_policy_parts(self, request: HttpRequest, response: HttpResponseBase,
                         report_only: bool = False) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        origins = sorted(getattr(request, REQUEST_ATTRIBUTE, ()))
        if origins:
            update = dict(parts.update or {})
            extra = update.get("img-src") or []
            update["img-src"] = [*([extra] if isinstance(extra, str) else extra), *origins]
            parts.update = update
        return parts
