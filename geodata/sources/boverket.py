"""Boverket's plan-regulation catalogue (planbestämmelsekatalogen): a paged JSON API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from geodata.errors import SourceResponseError
from geodata.sources.base import SourceClient
from geodata.sources.paging import ServerCount

CATALOGUE_FIELDS = (
    "bestammelsekod", "bestammelsetyp", "anvandningsform", "kategori", "underkategori",
    "beteckning", "bestammelseformulering", "geometrityp", "farg", "symbol", "uttrycktvarde",
    "borjargalla", "slutargalla",
)


class BoverketCatalogueClient(SourceClient):
    """Read one release of the catalogue (``layer`` names it; empty means the newest)."""

    def _get(self, url: str, params: dict[str, str] | None = None) -> dict[str, Any]:
        response = self.http.get(url, params=params, accept="application/json")
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise SourceResponseError(self.name, f"not JSON from {response.url}") from exc
        if response.status_code != 200 or not isinstance(body, dict):
            raise SourceResponseError(self.name, f"HTTP {response.status_code} from "
                                                 f"{response.url}: {body}")
        return body

    def release(self) -> str:
        """Return the release to read: the registered one, or the newest offered."""
        if self.layer:
            return self.layer
        releases = self._get(f"{self.url.rstrip('/')}/releases").get("releases") or []
        if not releases:
            raise SourceResponseError(self.name, "the catalogue offers no release")
        return str(max(releases))

    def records(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Yield (release, record) for every record, following ``next`` to the end."""
        release = self.release()
        url: str | None = f"{self.url.rstrip('/')}/releases/{release}/bestammelser"
        params: dict[str, str] | None = {"limit": str(min(self.page_size, 1000))}
        seen: set[str] = set()
        while url:
            body = self._get(url, params)
            total = body.get("total")
            if isinstance(total, int) and not isinstance(total, bool):
                self.count = ServerCount(total, exact=True)
            for item in body.get("items") or []:
                if not isinstance(item, dict) or not item.get("id") or not item.get(
                        "bestammelsekod"):
                    raise SourceResponseError(self.name, f"a record without id or "
                                                         f"bestammelsekod: {item!r:.200}")
                self.mark_seen(str(item["id"]), seen)
                yield release, item
            url = body.get("next")
            params = None
            if url:
                self.http._check_host(url)  # noqa: SLF001

    def check(self) -> str:
        return f"planbestämmelsekatalogen {self.release()}"
