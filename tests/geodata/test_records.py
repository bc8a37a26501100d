"""A page column by column: rejected features leave every column; repeats are named."""

from __future__ import annotations

import pytest
from shapely.geometry import Point

from geodata.errors import PagingUnstable
from geodata.sources.base import SourceClient, SourceSpec
from geodata.sources.records import Rejected, Table


def client() -> SourceClient:
    return SourceClient(SourceSpec(name="t", protocol="wfs", url="http://127.0.0.1:9/x",
                                   layer="registerenhetsomradesytor"))


def test_a_rejected_geometry_leaves_its_feature_out_of_every_column():
    inside = Point(616_500, 6_920_500)
    swapped = Point(6_920_500, 616_500)  # northing first: not in Sweden as x/y
    table = Table(["a", "b", "c"], {"etikett": ["A", "B", "C"], "enhet": ["1", "2", "3"]},
                  [inside, swapped, inside])
    rejected: list[Rejected] = []

    kept = client().to_table(table, 3006, False, rejected)

    assert kept.ids == ["a", "c"]
    assert kept.columns == {"etikett": ["A", "C"], "enhet": ["1", "3"]}
    assert [g.x for g in kept.geometries] == [616_500, 616_500]
    assert [r.id for r in rejected] == ["b"] and "outside Sweden" in rejected[0].reason
    assert [r.properties for r in kept.records()] == [{"etikett": "A", "enhet": "1"},
                                                     {"etikett": "C", "enhet": "3"}]


def test_a_feature_twice_is_named_within_a_page_and_across_pages():
    seen: set[str] = set()
    client().mark_all_seen(["a", "b"], seen)
    assert seen == {"a", "b"}
    with pytest.raises(PagingUnstable, match="feature c came twice"):
        client().mark_all_seen(["c", "c"], set())
    with pytest.raises(PagingUnstable, match="feature b came twice"):
        client().mark_all_seen(["x", "b"], seen)


def test_a_missing_column_reads_as_none():
    table = Table(["a", "b"], {}, [Point(0, 0), Point(1, 1)])
    assert table.column("etikett") == [None, None]
    assert [r.properties for r in table.records()] == [{}, {}]
