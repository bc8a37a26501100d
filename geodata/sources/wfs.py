"""WFS 2.0 / 1.1 adapter: GetFeature paged to the end, GML read safely, axes normalised."""

from __future__ import annotations

import logging
import re
import tempfile
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from lxml import etree

from geodata.crs import northing_first, parse_crs, srid_of
from geodata.errors import CRSMismatch, SourceError, SourceResponseError
from geodata.sources.base import SourceClient
from geodata.sources.filters import fes_filter
from geodata.sources.gml import (
    GMLError,
    capabilities_root,
    exception_text,
    feature_parts,
    geometry_from_gml,
    iter_members,
    parse_document,
    read_features_fast,
    schema_for_gdal,
    sniff,
)
from geodata.sources.http import response_version
from geodata.sources.paging import PageRules, ServerCount, next_start
from geodata.sources.records import FeatureRecord, Page, Rejected, Table

log = logging.getLogger(__name__)
_TIMESTAMP = re.compile(rb'timeStamp="([^"]{1,64})"')
_RETURNED = re.compile(rb'\s(?:numberReturned|numberOfFeatures)="(\d+)"')
_NEXT = re.compile(rb'\snext="([^"]+)"')
_SRS_NAME = re.compile(rb'<[\w.-]+:(?:Polygon|MultiSurface|MultiPolygon|Point|Surface|LineString'
                       rb'|MultiCurve|MultiPoint)\b[^>]*?\ssrsName="([^"]+)"')


class WFSClient(SourceClient):
    """Read one feature type from a WFS, page by page."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.version = self.version or "2.0.0"

    def _srs_name(self) -> str:
        srid = srid_of(self.crs)
        if self.version.startswith("2"):
            return f"urn:ogc:def:crs:EPSG::{srid}"
        # WFS 1.1 servers disagree on the axis order of EPSG:n; the URN form is explicit.
        return f"urn:ogc:def:crs:EPSG::{srid}" if self.version.startswith("1.1") else (
            f"EPSG:{srid}")

    def pages(self, bbox: tuple[float, float, float, float] | None = None) -> Iterator[Page]:
        """Yield pages until the server has no more; every feature exactly once."""
        version = self.version
        is2 = version.startswith("2")
        srs_name = self._srs_name()
        params = {
            "SERVICE": "WFS", "VERSION": version, "REQUEST": "GetFeature",
            ("TYPENAMES" if is2 else "TYPENAME"): self.layer,
            "SRSNAME": srs_name,
        }
        if self.sorted_paging:
            # An order the server guarantees; without it the duplicate and count checks
            # catch an unstable one (any skipped feature makes another come twice).
            params["SORTBY"] = self.sort_key + (" ASC" if is2 else "")
        if bbox:
            # The BBOX is in the request CRS and follows its axis order (WFS 1.1 / 2.0).
            minx, miny, maxx, maxy = bbox
            ordered = (miny, minx, maxy, maxx) if northing_first(srs_name) else bbox
            params["BBOX"] = ",".join(f"{v:.6f}" for v in ordered) + f",{srs_name}"
        if self.filters:
            # BBOX and FILTER may not both be given: the box goes inside the filter.
            box = ""
            if bbox:
                lower, upper = " ".join(f"{v:.6f}" for v in ordered[:2]), " ".join(
                    f"{v:.6f}" for v in ordered[2:])
                tag = "fes:BBOX" if is2 else "ogc:BBOX"
                box = (f'<{tag}><gml:Envelope srsName="{srs_name}"><gml:lowerCorner>{lower}'
                       f"</gml:lowerCorner><gml:upperCorner>{upper}</gml:upperCorner>"
                       f"</gml:Envelope></{tag}>")
                del params["BBOX"]
            params["FILTER"] = fes_filter(self.filters, version, box)
        seen: set[str] = set()
        count_key = "COUNT" if is2 else "MAXFEATURES"

        def fetch(start: int, count: int) -> Any:
            return self.http.get(self.url, params=dict(
                params, STARTINDEX=str(start), **{count_key: str(count)}))

        rules = PageRules(self.page_size, next_links=is2)
        got = 0
        with tempfile.TemporaryDirectory(prefix="lovkarta-wfs-") as workdir, \
                _PageQueue(fetch, self.http.policy.parallel) as queue:
            queue.advance(0, rules.size, None)  # the first pages go out while we ask the rest
            cap = self._page_cap()
            rules.server_cap(cap)
            queue.advance(0, rules.size, None)
            self.count = ServerCount.from_hits(self._hits(params), cap)
            xsd = self._gdal_schema(Path(workdir))
            while True:
                start, response = queue.next()
                head = response.content[:4096]
                said = _RETURNED.search(head)
                link = _NEXT.search(head)
                following = None
                if said is not None:
                    # Where paging goes on is known before the page is read: the next
                    # pages come while this one is.
                    following = self._step(rules, queue, start, int(said.group(1)), link)
                try:
                    page = self._parse(response.content, response.status_code, srs_name, seen,
                                       xsd)
                except SourceResponseError as exc:
                    if start == 0 and "SORTBY" in params and "sort" in exc.detail.lower():
                        # Some layers cannot sort; page in the server's own order, and the
                        # duplicate check still catches an order that is not stable.
                        log.warning("%s: the server cannot sort %s; paging unsorted",
                                    self.name, self.layer)
                        del params["SORTBY"]
                        queue.advance(0, rules.size, self.count.total, restart=True)
                        continue
                    raise
                returned = page.size
                if said is None or int(said.group(1)) != returned:
                    following = self._step(rules, queue, start, returned, link)
                got += returned
                if page.matched is not None and not (self.count.exact and self.count.firm):
                    # The answer's own count (MapServer's last page) where the hits were
                    # capped or missing; a total from the hits stays, to be held to.
                    self.count = ServerCount(page.matched, exact=True)
                else:
                    self.count = self.count.reached(got, full_page=following is not None)
                stamp = _TIMESTAMP.search(head)
                version = response_version(response) or (
                    stamp.group(1).decode() if stamp else "")
                yield Page(page.records, page.rejected, self.count.total, returned, version,
                           page.table)
                if following is None:
                    return

    def _step(self, rules: PageRules, queue: _PageQueue, start: int, returned: int,
              link: re.Match[bytes] | None) -> int | None:
        """Decide where paging goes on after a page, and keep the right pages in flight."""
        following = rules.after(start, returned, link is not None,
                                next_start(link.group(1).decode() if link else None))
        if following is not None:
            queue.advance(following, rules.size, self.count.total)
        return following

    def _page_cap(self) -> int | None:
        """Return the most features the server gives a page, from its capabilities
        (WFS 2.0 CountDefault; DefaultMaxFeatures in MapServer's WFS 1.1), or None."""
        try:
            response = self.http.get(self.url, params={
                "SERVICE": "WFS", "VERSION": self.version, "REQUEST": "GetCapabilities"})
            root = capabilities_root(response.content, self.name, "WFS",
                                     ("WFS_Capabilities",))
        except SourceResponseError as exc:  # a down source (SourceUnavailable) stops here
            log.info("%s: no page cap from the capabilities (%s)", self.name, exc)
            return None
        for constraint in root.iter("{*}Constraint"):
            if constraint.get("name") in ("CountDefault", "DefaultMaxFeatures"):
                value = constraint.findtext("{*}DefaultValue") or constraint.findtext(
                    "{*}Value") or ""
                if value.strip().isdigit() and int(value) > 0:
                    return int(value)
        return None

    def _gdal_schema(self, workdir: Path) -> Path | None:
        """Fetch the feature type's schema once and write it into ``workdir`` for GDAL,
        which then reads each page in one pass; None without one."""
        is2 = self.version.startswith("2")
        try:
            response = self.http.get(self.url, params={
                "SERVICE": "WFS", "VERSION": self.version, "REQUEST": "DescribeFeatureType",
                ("TYPENAMES" if is2 else "TYPENAME"): self.layer})
        except SourceResponseError as exc:  # a down source (SourceUnavailable) stops here
            log.info("%s: no schema (%s); pages are read in two passes", self.name, exc)
            return None
        schema = schema_for_gdal(response.content) if response.status_code == 200 else None
        if schema is None:
            return None
        xsd = workdir / "page.xsd"
        xsd.write_bytes(schema)
        return xsd

    def _hits(self, params: dict[str, str]) -> int | None:
        """Ask how many features the request matches (for progress and a final check)."""
        hit_params = {k: v for k, v in params.items() if k != "SORTBY"}
        hit_params["RESULTTYPE"] = "hits"
        try:
            head = self.http.get(self.url, params=hit_params).content[:4096]
        except SourceError:
            return None
        found = re.search(rb'(?:numberMatched|numberOfFeatures)="(\d+)"', head)
        return int(found.group(1)) if found else None

    def _parse(self, content: bytes, status: int, srs_name: str, seen: set[str],
               xsd: Path | None = None) -> Page:
        try:
            root_name, matched = sniff(content)
        except GMLError as exc:
            raise SourceResponseError(self.name, f"{exc} (HTTP {status})") from exc
        if status == 200 and root_name == "FeatureCollection":
            wire = _SRS_NAME.search(content[:65536])
            wire_srs = self._wire_srs(wire.group(1).decode() if wire else srs_name, srs_name)
            if wire_srs is not None:
                # GDAL puts easting first as it reads (C speed), where the CRS says so.
                swap = northing_first(wire_srs)
                fast = read_features_fast(content, xsd, swap=swap)
                if fast is not None:
                    return self._records(fast, wire_srs, matched, seen, swapped=swap)
        return self._parse_carefully(content, status, srs_name, seen)

    def _wire_srs(self, wire_srs: str, srs_name: str) -> str | None:
        """Return the CRS the coordinates are in, or None if it is not the asked one."""
        try:
            if srid_of(wire_srs) != srid_of(srs_name):
                return None
        except CRSMismatch:
            return None
        # "EPSG:n" on the wire says nothing of axis order (MapServer's WFS 1.1 writes it on
        # northing-first coordinates): the order we asked for rules.
        return wire_srs if parse_crs(wire_srs)[1] else srs_name

    def _records(self, fast: tuple[list[str], dict[str, list[str]], list[Any]],
                 wire_srs: str, matched: int | None, seen: set[str],
                 swapped: bool = False) -> Page:
        gml_ids, columns, shapes = fast
        given = columns.get(self.id_field)
        ids = ([fid or gml_id.rsplit(".", 1)[-1] for fid, gml_id in zip(given, gml_ids,
                                                                          strict=True)]
               if given is not None else [gml_id.rsplit(".", 1)[-1] for gml_id in gml_ids])
        self.mark_all_seen(ids, seen)
        rejected: list[Rejected] = []
        srid, swap = srid_of(wire_srs), northing_first(wire_srs) and not swapped
        table = Table(ids, columns, shapes)
        if self.filters:  # held to the filter feature by feature
            raw = [(r.id, r.properties, r.geometry) for r in table.records()]
            return Page(self.to_records(raw, srid, swap, rejected), rejected, matched, len(ids))
        return Page([], rejected, matched, len(ids),
                    table=self.to_table(table, srid, swap, rejected))

    def _parse_carefully(self, content: bytes, status: int, srs_name: str,
                         seen: set[str]) -> Page:
        """Parse with lxml, feature by feature (curves, odd servers, error reports)."""
        try:
            root = parse_document(content)
        except GMLError as exc:
            raise SourceResponseError(self.name, f"{exc} (HTTP {status})") from exc
        error = exception_text(root)
        if error:
            raise SourceResponseError(self.name, f"the server reported an error: {error}")
        if status != 200:
            raise SourceResponseError(self.name, f"HTTP {status}")
        if etree.QName(root).localname != "FeatureCollection":
            raise SourceResponseError(
                self.name, f"expected a FeatureCollection, got {etree.QName(root).localname}")
        rejected: list[Rejected] = []
        raw: dict[str, list[tuple[str, dict[str, str], Any]]] = {}
        received = 0
        for feature in iter_members(root):
            received += 1
            fid, properties, geom_el = feature_parts(feature)
            fid = properties.get(self.id_field) or fid.rsplit(".", 1)[-1] or fid
            self.mark_seen(fid, seen)
            if geom_el is None:
                rejected.append(Rejected(fid, "no geometry"))
                continue
            wire_srs = geom_el.get("srsName") or srs_name
            try:
                if not parse_crs(wire_srs)[1] and srid_of(wire_srs) == srid_of(srs_name):
                    # "EPSG:n" on the wire says nothing of axis order (MapServer's WFS 1.1
                    # writes it on northing-first coordinates): the order we asked for rules.
                    wire_srs = srs_name
                raw.setdefault(wire_srs, []).append((fid, properties,
                                                     geometry_from_gml(geom_el)))
            except (GMLError, ValueError) as exc:
                rejected.append(Rejected(fid, str(exc)))
        records: list[FeatureRecord] = []
        for wire_srs, items in raw.items():
            records += self.to_records(items, srid_of(wire_srs), northing_first(wire_srs),
                                       rejected)
        matched = root.get("numberMatched")
        return Page(records, rejected, int(matched) if matched and matched.isdigit() else None,
                    received)

    def check(self) -> str:
        """Ask the server for its capabilities (through OWSLib) and confirm the layer."""
        from owslib.wfs import WebFeatureService

        response = self.http.get(self.url, params={
            "SERVICE": "WFS", "REQUEST": "GetCapabilities", "VERSION": self.version or "2.0.0"})
        try:
            parse_document(response.content)
            wfs = WebFeatureService(self.url, version=self.version or "2.0.0",
                                    xml=response.content)
        except (GMLError, etree.XMLSyntaxError, AttributeError) as exc:
            raise SourceResponseError(self.name, f"unreadable capabilities: {exc}") from exc
        names = {name.split(":")[-1] for name in wfs.contents}
        if self.layer.split(":")[-1] not in names:
            raise SourceResponseError(
                self.name, f"the server offers no feature type {self.layer!r} "
                f"(it has {', '.join(sorted(names)) or 'none'})")
        return wfs.identification.title or self.url



class _PageQueue:
    """Pages requested ahead, in order: while one page is read, the next ``parallel`` are
    on their way (the server's time and ours overlap). With a total known, nothing is
    asked past its end but the one empty page that confirms it; without, requests past
    the end cost an empty page each (a page that ends paging asks for no more).
    """

    def __init__(self, fetch: Callable[[int, int], Any], parallel: int) -> None:
        self.fetch, self.parallel = fetch, max(1, parallel)
        self.pool = ThreadPoolExecutor(max_workers=self.parallel, thread_name_prefix="wfs-page")
        self.pending: deque[tuple[int, Future[Any]]] = deque()

    def __enter__(self) -> _PageQueue:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        # After a good end, a request past the end may still be running: let it finish on
        # its own (its answer is not used) while the sync commits. After a failure, wait
        # for what is in flight: a failed sync leaves the source alone (the circuit
        # breaker counts on it), with no retries still going on behind it.
        self.pool.shutdown(wait=exc_type is not None, cancel_futures=True)

    def advance(self, start: int, size: int, total: int | None, restart: bool = False) -> None:
        """Keep the pages from ``start`` on, ``size`` features apart, in flight: requests
        that do not fit that sequence (or all, with ``restart``) are dropped."""
        expected = start
        kept: deque[tuple[int, Future[Any]]] = deque()
        for at, future in self.pending:
            if not restart and at == expected:
                kept.append((at, future))
                expected += size
            else:
                future.cancel()  # if it runs already, its answer is not used
        self.pending = kept
        while len(self.pending) < self.parallel and (
                total is None or expected <= total or not self.pending):
            self.pending.append((expected, self.pool.submit(self.fetch, expected, size)))
            expected += size

    def next(self) -> tuple[int, Any]:
        """Return the next page's start index and its response."""
        start, future = self.pending.popleft()
        return start, future.result()
