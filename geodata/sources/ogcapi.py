"""OGC API - Features adapter: items paged by next links, in CRS84 or (Part 2) any CRS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import shapely.geometry

from geodata.crs import WEB_SRID, northing_first, parse_crs, point_to_srid, srid_of
from geodata.errors import CRSMismatch, SourceResponseError
from geodata.sources.base import SourceClient
from geodata.sources.filters import cql2_text
from geodata.sources.geometry import GeometryRejected
from geodata.sources.http import response_version
from geodata.sources.paging import ServerCount
from geodata.sources.records import Page, Rejected

GEOJSON = "application/geo+json, application/json;q=0.9"
CRS84_URI = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def epsg_uri(srid: int) -> str:
    """Return the OGC URI of an EPSG code, the form OGC API uses."""
    return f"http://www.opengis.net/def/crs/EPSG/0/{srid}"


class OGCAPIFeaturesClient(SourceClient):
    """Read one collection of an OGC API - Features service."""

    def _json(self, url: str, params: dict[str, str] | None = None,
              accept: str = "application/json") -> tuple[dict[str, Any], dict[str, str]]:
        response = self.http.get(url, params=params, accept=accept)
        version = response_version(response)
        try:
            body = json.loads(response.content)
        except ValueError as exc:
            raise SourceResponseError(
                self.name, f"not JSON from {response.url} (HTTP {response.status_code})"
            ) from exc
        if response.status_code != 200:
            detail = body.get("description") or body.get("detail") or body.get("title") if (
                isinstance(body, dict)) else None
            raise SourceResponseError(
                self.name, f"HTTP {response.status_code} from {response.url}: {detail or body}")
        if not isinstance(body, dict):
            raise SourceResponseError(self.name, f"unexpected JSON from {response.url}")
        headers = dict(response.headers)
        headers["X-Lovkarta-Version"] = version or str(body.get("timeStamp") or "")[:200]
        return body, headers

    @property
    def collection_url(self) -> str:
        return f"{self.url.rstrip('/')}/collections/{self.layer}"

    def collection(self) -> dict[str, Any]:
        """Return the collection's metadata."""
        body, _ = self._json(self.collection_url, {"f": "json"})
        return body

    def request_crs(self) -> str | None:
        """Return the CRS URI to ask for, or None to take the default CRS84."""
        srid, _ = parse_crs(self.crs)
        if srid is None:
            return None
        offered = self.collection().get("crs") or []
        wanted = epsg_uri(srid)
        return wanted if wanted in offered else None

    def pages(self, bbox: tuple[float, float, float, float] | None = None) -> Iterator[Page]:
        """Yield pages by following ``next`` links to the end (an empty page or none);
        ``numberMatched`` is only a check, kept in ``count``."""
        asked = self.request_crs()
        params: dict[str, str] | None = {"f": "json", "limit": str(self.page_size)}
        assert params is not None
        if asked:
            params["crs"] = asked
        if bbox:
            if asked:  # Part 2: the server takes our CRS for the box too
                params["bbox"] = ",".join(f"{v:.3f}" for v in bbox)
                params["bbox-crs"] = epsg_uri(srid_of(self.crs))
            else:  # Part 1: the box is in CRS84
                srid = srid_of(self.crs)
                corners = [point_to_srid(x, y, srid, WEB_SRID)
                           for x in (bbox[0], bbox[2]) for y in (bbox[1], bbox[3])]
                lons, lats = [c[0] for c in corners], [c[1] for c in corners]
                params["bbox"] = f"{min(lons):.8f},{min(lats):.8f},{max(lons):.8f},{max(lats):.8f}"
        if self.filters:
            params["filter"] = cql2_text(self.filters)
            params["filter-lang"] = "cql2-text"
        seen: set[str] = set()

        def fetch(url: str, query: dict[str, str] | None) -> tuple[dict[str, Any], dict[str, str]]:
            return self._json(url, query, accept=GEOJSON)

        # The next page is fetched while this one is read.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="oapif-page") as pool:
            pending: Future[tuple[dict[str, Any], dict[str, str]]] | None = pool.submit(
                fetch, f"{self.collection_url}/items", params)
            while pending is not None:
                body, headers = pending.result()
                links = body.get("links")
                url = next((str(link.get("href") or "") for link in (
                    links if isinstance(links, list) else []) if isinstance(link, dict)
                    and link.get("rel") == "next"), "")
                pending = None
                if url:
                    self.http._check_host(url)  # noqa: SLF001
                if url and body.get("features"):  # an empty page ends paging
                    # The next link carries every parameter.
                    pending = pool.submit(fetch, url, None)
                content_crs = (headers.get("Content-Crs") or headers.get("content-crs") or "")
                wire = content_crs.strip("<> ") or asked or CRS84_URI
                if asked and wire != asked:
                    raise CRSMismatch(f"{self.name}: asked for {asked}, the server sent {wire}")
                page = self._page(body, wire, seen)
                if page.matched is not None:  # a check on paging, not where it ends
                    self.count = ServerCount(page.matched, exact=True)
                yield Page(page.records, page.rejected, page.matched, page.received,
                           headers.get("X-Lovkarta-Version", ""))

    def _page(self, body: dict[str, Any], wire_crs: str, seen: set[str]) -> Page:
        if body.get("type") != "FeatureCollection":
            raise SourceResponseError(self.name, "expected a GeoJSON FeatureCollection")
        srid = srid_of(wire_crs)
        swap = northing_first(wire_crs)
        rejected: list[Rejected] = []
        raw: list[tuple[str, dict[str, Any], Any]] = []
        for feature in body.get("features", []):
            properties = feature.get("properties") or {}
            fid = str(properties.get(self.id_field) or feature.get("id") or "")
            self.mark_seen(fid, seen)
            try:
                if not feature.get("geometry"):
                    raise GeometryRejected("no geometry")
                raw.append((fid, properties, shapely.geometry.shape(feature["geometry"])))
            except (GeometryRejected, ValueError, TypeError, KeyError, AttributeError) as exc:
                rejected.append(Rejected(fid, str(exc) or type(exc).__name__))
        records = self.to_records(raw, srid, swap, rejected)
        matched = body.get("numberMatched")
        return Page(records, rejected, matched if isinstance(matched, int) else None,
                    len(body.get("features", [])))

    def check(self) -> str:
        """Fetch the collection's metadata; return its title."""
        return str(self.collection().get("title") or self.layer)
