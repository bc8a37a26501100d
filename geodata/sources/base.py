"""What every source adapter shares, and the factory that picks one for a source."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from geodata.errors import PagingUnstable, UnsupportedSource
from geodata.sources.credentials import Credentials
from geodata.sources.filters import Filters, matches
from geodata.sources.geometry import GeometryRejected, normalise_many
from geodata.sources.http import HTTPPolicy, SourceHTTP
from geodata.sources.paging import ServerCount
from geodata.sources.records import FeatureRecord, Page, Rejected, Table


@dataclass
class SourceSpec:
    """What an adapter needs to know about a registered source (no Django model)."""

    name: str
    protocol: str
    url: str
    layer: str
    crs: str = "EPSG:3006"
    version: str = ""
    page_size: int = 1000
    id_field: str = "objektidentitet"
    credentials: Credentials | None = None
    filters: Filters = ()
    # Ask the server to sort pages by identity. Sorting costs a WFS server much (MapServer
    # spends 60 % more per page), so a sync first pages in the server's own order, which
    # is stable on most servers, and pages again sorted only if that proved unstable.
    sorted_paging: bool = False


class SourceClient:
    """Base of the feature adapters: pages of typed records from one layer."""

    def __init__(self, spec: SourceSpec, policy: HTTPPolicy | None = None) -> None:
        self.spec = spec
        self.name = spec.name
        self.url = spec.url
        self.layer = spec.layer
        self.crs = spec.crs
        self.version = spec.version
        self.page_size = spec.page_size
        self.id_field = spec.id_field
        self.sort_key = spec.id_field
        self.sorted_paging = spec.sorted_paging
        self.filters = spec.filters
        self.http = SourceHTTP(spec.name, spec.url, policy, spec.credentials)
        # What the server said the request matches, as far as paging has gone: the sync
        # holds what it read to it once the pages have ended.
        self.count = ServerCount()

    def pages(self, bbox: tuple[float, float, float, float] | None = None) -> Iterator[Page]:
        """Yield every feature of the layer, a page at a time, to the end the server
        says; ``count`` then holds the server's own count."""
        raise NotImplementedError

    def mark_seen(self, fid: str, seen: set[str]) -> None:
        """Remember a feature id; a second sighting means paging is not stable."""
        if fid in seen:
            raise PagingUnstable(
                self.name, f"feature {fid} came twice while paging: the server's paging "
                "is not stable")
        seen.add(fid)

    def mark_all_seen(self, fids: list[str], seen: set[str]) -> None:
        """mark_seen for a page of ids at once."""
        fresh = set(fids)
        if len(fresh) != len(fids) or not seen.isdisjoint(fresh):
            for fid in fids:  # name the first that came twice
                self.mark_seen(fid, seen)
        seen |= fresh

    def to_table(self, table: Table, srid: int, swap: bool,
                 rejected: list[Rejected]) -> Table:
        """Normalise a page's geometries (as written) column-wise; leave out the rejected."""
        geoms = normalise_many(table.geometries, srid, swap)
        bad = [i for i, g in enumerate(geoms) if isinstance(g, GeometryRejected)]
        if not bad:
            return Table(table.ids, table.columns, geoms)
        rejected.extend(Rejected(table.ids[i], str(geoms[i])) for i in bad)
        dropped = set(bad)
        keep = [i for i in range(len(geoms)) if i not in dropped]

        def pick(values: list[Any]) -> list[Any]:
            return [values[i] for i in keep]

        return Table(pick(table.ids), {name: pick(v) for name, v in table.columns.items()},
                     pick(geoms))

    def to_records(self, raw: list[tuple[str, dict[str, Any], Any]], srid: int, swap: bool,
                   rejected: list[Rejected]) -> list[FeatureRecord]:
        """Normalise a page's (id, properties, geometry as written) into records."""
        records = []
        if self.filters:  # a server may ignore the filter: hold it to it here
            raw = [item for item in raw if matches(item[1], self.filters)]
        geoms = normalise_many([g for _, _, g in raw], srid, swap)
        for (fid, properties, _), geom in zip(raw, geoms, strict=True):
            if isinstance(geom, GeometryRejected):
                rejected.append(Rejected(fid, str(geom)))
            else:
                records.append(FeatureRecord(fid, properties, geom))
        return records

    def check(self) -> str:
        """Confirm that the source answers and offers the layer; return its title."""
        raise NotImplementedError


def client_for(spec: SourceSpec, policy: HTTPPolicy | None = None) -> SourceClient:
    """Return the adapter for a source's protocol."""
    from geodata.sources.boverket import BoverketCatalogueClient
    from geodata.sources.ogcapi import OGCAPIFeaturesClient
    from geodata.sources.wfs import WFSClient

    adapters: dict[str, type[SourceClient]] = {
        "wfs": WFSClient,
        "ogcapi-features": OGCAPIFeaturesClient,
        "boverket-catalogue": BoverketCatalogueClient,
    }
    try:
        return adapters[spec.protocol](spec, policy)
    except KeyError:
        raise UnsupportedSource(f"{spec.name}: no feature adapter for protocol "
                                f"{spec.protocol!r}") from None
