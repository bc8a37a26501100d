"""The command-line shape GIS staff and runbooks rely on."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from geodata.models import Municipality, Parcel, Source

pytestmark = pytest.mark.django_db


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_add_list_sync_status_remove(ogc_server, capsys):
    Municipality.objects.create(kommunkod="2280", name="Härnösand")
    out, _ = run("geodata_source", "add", "harnosand-parcels", "--protocol", "wfs", "--url",
                 ogc_server, "--layer", "registerenhetsomradesytor", "--crs", "EPSG:3006",
                 "--holds", "parcels", "--municipality", "2280", "--preset", "lantmateriet")
    assert "Added source harnosand-parcels" in out
    source = Source.objects.get(name="harnosand-parcels")
    assert (source.protocol, source.municipality.kommunkod, source.preset) == (
        "wfs", "2280", "lantmateriet")
    listed, _ = run("geodata_source", "list")
    assert "harnosand-parcels\twfs" in listed

    out, _ = run("geodata_sync", "harnosand-parcels", "--bbox",
                 "616122.457,6919875.543,616224.457,6919957.543")
    assert ("harnosand-parcels: 9 fetched (the server counted 9), 9 added, 0 changed, 0 removed, "
            "0 rejected") in out
    progress = capsys.readouterr().err
    assert "harnosand-parcels: [" in progress and "9 features" in progress or "9/" in progress

    status, _ = run("geodata_status")
    line = next(x for x in status.splitlines() if x.startswith("harnosand-parcels"))
    assert " 9 " in line and line.rstrip().endswith("ok")

    out, _ = run("geodata_source", "remove", "harnosand-parcels")
    assert "Removed" in out and not Parcel.objects.filter(source__name="harnosand-parcels")


@pytest.mark.parametrize("args,message", [
    (["--crs", "EPSG:27700"], "EPSG:27700 is not a supported"),
    (["--municipality", "9999"], "no municipality with kommunkod 9999"),
    (["--preset", "boverket"], "preset 'boverket' does not fit a source of parcels"),
    (["--url", "not a url"], "url: (Fyll i en giltig URL|Enter a valid URL)"),
    (["--auth", "oauth2", "--credentials-env", "SAKNAS"], "SAKNAS_CLIENT_ID"),
])
def test_bad_input_is_refused_and_stores_nothing(args, message):
    base = {"--protocol": "wfs", "--url": "https://example.se/wfs",
            "--layer": "registerenhetsomradesytor", "--holds": "parcels"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [item for pair in base.items() for item in pair]
    with pytest.raises(CommandError, match=message):
        run("geodata_source", "add", "trasig", *flat)
    assert not Source.objects.filter(name="trasig").exists()


def test_sync_of_unknown_source_and_failed_source(ogc_server):
    with pytest.raises(CommandError, match="no source named nope"):
        run("geodata_sync", "nope")
    Source.objects.create(name="nere", protocol="wfs", url="http://127.0.0.1:9/x",
                          layer="x", holds="parcels")
    with pytest.raises(CommandError, match="1 source\\(s\\) failed: nere"):
        run("geodata_sync", "nere")
