"""Swedish first: the language is Swedish unless the user has chosen another."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers


class ChosenLanguageMiddleware:
    """Activate the language the user chose (cookie), else LANGUAGE_CODE.

    Unlike LocaleMiddleware, pages ignore the browser's Accept-Language: a Swedish public
    e-service speaks Swedish first, and offers English to those who ask for it. The API
    (``/api/``) answers scripts, which carry no cookie, in the language they ask for by
    Accept-Language (Swedish when they ask for none we speak).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.codes = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        api = request.path_info.startswith("/api/")
        if chosen in self.codes:
            language = chosen
        elif api:
            language = translation.get_language_from_request(request)
        else:
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        if api:
            patch_vary_headers(response, ("Accept-Language",))
        return response
