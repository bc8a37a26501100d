from django.http import HttpRequest

from permits.selectors import is_officer


def roles(request: HttpRequest) -> dict[str, bool]:
    """Tell templates which menus the user may see."""
    return {"is_officer": is_officer(request.user)}
