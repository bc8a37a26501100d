"""The command-line shape GIS staff and runbooks rely on."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from geodata.models import Municipality, Parcel, Source

pytestmark = pytest.mark.django_db
LAYER = "registerenhetsomradesytor"


def run(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_add_list_sync_status_remove(ogc_server, capsys):
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
    (["--crs", "EPSG:27700"], "EPSG:27700 (is not a supported|är inte ett koordinatsystem)"),
    (["--municipality", "9999"], "no Swedish municipality has the code or name '9999'; "
                                 "the nearest: 2584 Kiruna"),
    (["--municipality", "2263"], "the nearest: 2262 Timrå, 2260 Ånge, 2280 Härnösand"),
    (["--municipality", "Timro"], "the nearest: 2262 Timrå"),
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
    municipalities = Municipality.objects.count()
    with pytest.raises(CommandError, match=message):
        run("geodata_source", "add", "trasig", *flat)
    assert not Source.objects.filter(name="trasig").exists()
    assert Municipality.objects.count() == municipalities


def test_a_bad_source_does_not_add_the_municipality_it_names():
    with pytest.raises(CommandError, match="url: "):
        run("geodata_source", "add", "trasig", "--protocol", "wfs", "--url", "not a url",
            "--layer", LAYER, "--holds", "parcels", "--municipality", "2284")
    assert not Municipality.objects.filter(kommunkod="2284").exists()


def test_a_second_municipality_whose_server_caps_pages_from_the_command_line(capped_server):
    """The reported scenario: Timrå (not yet known to the installation) registers its WFS,
    which caps a page at 500, caps its hit count at 500 and serves SWEREF 99 17 15; the
    sync stores every area and says how many the server had."""
    assert not Municipality.objects.filter(kommunkod="2262").exists()
    out, _ = run("geodata_source", "add", "holdout", "--protocol", "wfs", "--url",
                 capped_server(500), "--layer", LAYER, "--crs", "EPSG:3014", "--holds",
                 "parcels", "--municipality", "2262", "--page-size", "10000")
    assert "Added source holdout" in out
    assert str(Source.objects.get(name="holdout").municipality) == "Timrå (2262)"

    out, _ = run("geodata_sync", "holdout")
    assert "holdout: 2826 fetched (the server counted 2826), 2826 added, 0 changed, 0 removed, " \
           "0 rejected" in out
    assert Parcel.objects.filter(source__name="holdout").count() == 2826

    run("geodata_source", "add", "holdout-2", "--protocol", "wfs", "--url", capped_server(500),
        "--layer", LAYER, "--holds", "parcels", "--municipality", "timrå kommun")
    assert Municipality.objects.filter(kommunkod="2262").count() == 1  # the same one


def test_sync_of_unknown_source_and_failed_source(ogc_server):
    with pytest.raises(CommandError, match="no source named nope"):
        run("geodata_sync", "nope")
    Source.objects.create(name="nere", protocol="wfs", url="http://127.0.0.1:9/x",
                          layer="x", holds="parcels")
    with pytest.raises(CommandError, match="1 source\\(s\\) failed: nere"):
        run("geodata_sync", "nere")
