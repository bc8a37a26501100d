"""Put a rendered map's assets on a page: ``{% load emap %}``, ``{% emap_css map %}`` in
the head and ``{% emap_js map %}`` at the end of the body.

Both also note the origins of the map's background tiles on the request, for
:class:`emap.csp.MapCSPMiddleware` to allow in the page's ``img-src``.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from emap.maps import MapFragment

register = template.Library()

# Where the origins of the maps rendered for a request are noted.
REQUEST_ATTRIBUTE = "emap_origins"


def note_origins(request: Any, fragment: MapFragment) -> None:
    """Note on the request that its page shows tiles from the fragment's origins."""
    if request is None:
        return
    origins: set[str] = getattr(request, REQUEST_ATTRIBUTE, set())
    origins.update(fragment.origins)
    setattr(request, REQUEST_ATTRIBUTE, origins)


@register.simple_tag(takes_context=True)
def emap_css(context: template.Context, fragment: MapFragment | None) -> SafeString:
    """Return the map's stylesheet links (nothing when the page has no map)."""
    if not fragment:
        return SafeString("")
    note_origins(getattr(context, "request", None), fragment)
    return format_html_join("\n", '<link rel="stylesheet" href="{}">',
                            ((href,) for href in fragment.css))


@register.simple_tag(takes_context=True)
def emap_js(context: template.Context, fragment: MapFragment | None) -> SafeString:
    """Return the map's script tags, the map's own scripts last (nothing without a map)."""
    if not fragment:
        return SafeString("")
    note_origins(getattr(context, "request", None), fragment)
    return format_html_join("\n", '<script src="{}"></script>',
                            ((src,) for src in fragment.js))
