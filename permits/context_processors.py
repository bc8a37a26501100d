from django.conf import settings
from django.http import HttpRequest

from permits.selectors.applications import is_officer


def roles(request: HttpRequest) -> dict[str, object]:
    """Tell templates which menus the user may see, and how one may log in."""
    return {"is_officer": is_officer(request.user),
            "oidc_enabled": settings.LOVKARTA_OIDC_ENABLED,
            "oidc_label": getattr(settings, "LOVKARTA_OIDC_LABEL", "")}
