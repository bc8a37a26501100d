"""Serve fixture data over real OGC protocols with Debian's MapServer, on 127.0.0.1.

This is the stand-in for Lantmäteriet and the municipal GIS server in tests and the demo.
``mapserv`` is a CGI program, so a small threaded HTTP gateway runs one ``mapserv``
process per request (concurrent requests run in parallel, as a map asks for many tiles at
once). It needs no Django and runs as ``python -m geodata.ogcserver``.

URLs, with the map alias ``lovkarta``:
- ``/lovkarta?SERVICE=WMS&REQUEST=GetCapabilities`` (WMS 1.3.0, WFS 2.0/1.1/1.0)
- ``/lovkarta/ogcapi/collections/registerenhetsomradesytor/items`` (OGC API Features)
- ``/wmts/1.0.0/WMTSCapabilities.xml`` and ``/wmts?SERVICE=WMTS&...`` (WMTS 1.0.0 from
  Debian's MapCache over the WMS above, layer ``bakgrund``, tile matrix sets ``3006``
  as Lantmäteriet's SWEREF 99 TM set and ``GoogleMapsCompatible``), when installed
- ``/health`` answers ``ok`` once the server is up.
"""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ALIAS = "lovkarta"
TEMPLATE = Path(__file__).resolve().parents[2] / "fixtures" / "mapserver" / "lovkarta.map.in"
MAPSERV = "/usr/bin/mapserv"
MAPCACHE = "/usr/lib/cgi-bin/mapcache"
WMTS_PATH = "/wmts"
WMTS_LAYER = "bakgrund"
# What the WMTS layer draws: the background map's layers of the WMS.
WMTS_WMS_LAYERS = "vatten,planbestammelse,byggnad,detaljplan,registerenhetsomradesytor"
CGI_TIMEOUT_S = 120


class OGCServerError(Exception):
    """The local OGC server cannot start."""


@dataclass(frozen=True)
class ServerConfig:
    """Where the rendered mapfile and MapServer config file live."""

    mapfile: Path
    config_file: Path
    base_url: str
    mapcache_file: Path | None = None


def layers_and_extent(data: Path) -> tuple[list[str], tuple[float, float, float, float]]:
    """Return the feature tables of a GeoPackage and the union of their extents."""
    if not data.is_file():
        raise OGCServerError(f"fixture data {data} does not exist; run `make fixtures` first")
    with closing(sqlite3.connect(f"file:{data}?mode=ro", uri=True)) as con:
        rows = con.execute(
            "SELECT table_name, min_x, min_y, max_x, max_y FROM gpkg_contents "
            "WHERE data_type = 'features'").fetchall()
    boxes = [r[1:] for r in rows if None not in r[1:]]
    if not boxes:
        raise OGCServerError(f"{data} holds no feature tables")
    extent = (min(b[0] for b in boxes), min(b[1] for b in boxes),
              max(b[2] for b in boxes), max(b[3] for b in boxes))
    return [r[0] for r in rows], extent


def render_mapfile(data: Path, workdir: Path, host: str, port: int) -> ServerConfig:
    """Write the mapfile for a GeoPackage (only the layers it holds) and the config file."""
    layers, extent = layers_and_extent(data)
    text = TEMPLATE.read_text(encoding="utf-8")
    base_url = f"http://{host}:{port}/{ALIAS}"

    def keep(block: re.Match[str]) -> str:
        table = re.search(r'DATA "SELECT \* FROM (\w+)"', block.group(0))
        return block.group(0) if table and table.group(1) in layers else ""

    text = re.sub(r"^  LAYER\n.*?^  END\n", keep, text, flags=re.S | re.M)
    # Pad the extent so that clients asking for the whole area are not cut at the edge.
    pad = 50.0
    text = (text.replace("@EXTENT@", " ".join(f"{v:.3f}" for v in (
                extent[0] - pad, extent[1] - pad, extent[2] + pad, extent[3] + pad)))
            .replace("@DATA@", str(data.resolve()))
            .replace("@BASE_URL@", base_url))
    workdir.mkdir(parents=True, exist_ok=True)
    mapfile = workdir / f"{ALIAS}.map"
    mapfile.write_text(text, encoding="utf-8")
    config_file = workdir / "mapserver.conf"
    config_file.write_text(
        "CONFIG\n  ENV\n    MS_ERRORFILE \"stderr\"\n"
        f"    MS_MAP_PATTERN \"^{re.escape(str(workdir.resolve()))}\"\n  END\n"
        f"  MAPS\n    \"{ALIAS}\" \"{mapfile.resolve()}\"\n  END\nEND\n",
        encoding="utf-8")
    return ServerConfig(mapfile=mapfile, config_file=config_file, base_url=base_url,
                        mapcache_file=render_mapcache(workdir, base_url, layers))


# Lantmäteriet's SWEREF 99 TM tile matrix set ("3006"): 256 px tiles from the top left
# corner (-1200000, 8500000), 4096 m a pixel halved down to 0.5 m.
MAPCACHE_CONFIG = """<?xml version="1.0" encoding="UTF-8"?>
<mapcache>
  <grid name="3006">
    <metadata><title>SWEREF 99 TM</title></metadata>
    <srs>EPSG:3006</srs>
    <units>m</units>
    <extent>-1200000 4305696 2994304 8500000</extent>
    <resolutions>4096 2048 1024 512 256 128 64 32 16 8 4 2 1 0.5</resolutions>
    <size>256 256</size>
    <origin>top-left</origin>
  </grid>
  <source name="wms" type="wms">
    <getmap><params><FORMAT>image/png</FORMAT><LAYERS>@LAYERS@</LAYERS>
      <TRANSPARENT>false</TRANSPARENT></params></getmap>
    <http><url>@WMS@</url><connection_timeout>10</connection_timeout>
      <timeout>60</timeout></http>
  </source>
  <cache name="disk" type="disk"><base>@TILES@</base></cache>
  <tileset name="@LAYER@">
    <metadata><title>Bakgrundskarta</title></metadata>
    <source>wms</source>
    <cache>disk</cache>
    <grid>3006</grid>
    <grid>GoogleMapsCompatible</grid>
    <format>PNG</format>
    <metatile>1 1</metatile>
  </tileset>
  <default_format>PNG</default_format>
  <service type="wmts" enabled="true"/>
  <service type="wms" enabled="false"/>
  <errors>report</errors>
  <lock_dir>@LOCKS@</lock_dir>
</mapcache>
"""


def render_mapcache(workdir: Path, base_url: str, layers: list[str]) -> Path | None:
    """Write MapCache's configuration (a WMTS over our WMS), if MapCache is installed."""
    if not Path(MAPCACHE).exists():
        return None
    drawn = ",".join(name for name in WMTS_WMS_LAYERS.split(",") if name in layers)
    tiles, locks = workdir / "tiles", workdir / "locks"
    tiles.mkdir(parents=True, exist_ok=True)
    locks.mkdir(parents=True, exist_ok=True)
    path = workdir / "mapcache.xml"
    path.write_text(MAPCACHE_CONFIG.replace("@LAYERS@", drawn or "registerenhetsomradesytor")
                    .replace("@WMS@", f"{base_url}?").replace("@LAYER@", WMTS_LAYER)
                    .replace("@TILES@", str(tiles.resolve()))
                    .replace("@LOCKS@", str(locks.resolve())), encoding="utf-8")
    return path


class Gateway(BaseHTTPRequestHandler):
    """Run ``mapserv`` as a CGI program for each request."""

    server_version = "LovkartaOGC/1.0"
    config: ServerConfig
    quiet = True

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's naming)
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if not self.quiet:
            super().log_message(format, *args)

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/health":
            self._reply(200, {"Content-Type": "text/plain"}, b"ok\n")
            return
        if parts.path.startswith(CATALOGUE_PATH):
            status, payload = catalogue_answer(parts.path, parts.query, self._base_url())
            self._reply(status, {"Content-Type": "application/json"}, payload)
            return
        if parts.path == WMTS_PATH or parts.path.startswith(f"{WMTS_PATH}/"):
            self._wmts(parts.path, parts.query)
            return
        if parts.path != f"/{ALIAS}" and not parts.path.startswith(f"/{ALIAS}/"):
            self._reply(404, {"Content-Type": "text/plain"}, b"unknown map\n")
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        query = parts.query
        path_info = parts.path
        if parts.path == f"/{ALIAS}":
            # OWS requests name the map by its alias; OGC API requests by their path.
            query = f"map={ALIAS}&{query}" if query else f"map={ALIAS}"
            path_info = ""
        env = self._cgi_env(query, path_info, body)
        env["MAPSERVER_CONFIG_FILE"] = str(self.config.config_file.resolve())
        self._run_cgi(MAPSERV, env, body)

    def _wmts(self, path: str, query: str) -> None:
        """Answer WMTS through MapCache, run as a CGI program like mapserv."""
        if self.config.mapcache_file is None:
            self._reply(404, {"Content-Type": "text/plain"},
                        b"no WMTS here: MapCache is not installed (Debian package mapcache-cgi)\n")
            return
        env = self._cgi_env(query, path, b"")
        env["MAPCACHE_CONFIG_FILE"] = str(self.config.mapcache_file.resolve())
        self._run_cgi(MAPCACHE, env, b"")

    def _cgi_env(self, query: str, path_info: str, body: bytes) -> dict[str, str]:
        address: Any = self.server.server_address
        host, port = str(address[0]), int(address[1])
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "SERVER_SOFTWARE": self.server_version,
            "SERVER_NAME": str(host),
            "SERVER_PORT": str(port),
            "HTTP_HOST": self.headers.get("Host", f"{host}:{port}"),
            "REQUEST_METHOD": self.command,
            "QUERY_STRING": query,
            "SCRIPT_NAME": "",
            "PATH_INFO": path_info,
            "REMOTE_ADDR": self.client_address[0],
            "CONTENT_LENGTH": str(len(body)),
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "HTTP_ACCEPT": self.headers.get("Accept", "*/*"),
        }

    def _run_cgi(self, program: str, env: dict[str, str], body: bytes) -> None:
        try:
            done = subprocess.run([program], input=body, env=env, capture_output=True,
                                  timeout=CGI_TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            self._reply(504, {"Content-Type": "text/plain"},
                        f"{Path(program).name} timed out\n".encode())
            return
        if done.stderr and not self.quiet:
            sys.stderr.write(done.stderr.decode("utf-8", "replace"))
        status, headers, payload = parse_cgi_output(done.stdout)
        self._reply(status, headers, payload)

    def _base_url(self) -> str:
        address: Any = self.server.server_address
        return f"http://{self.headers.get('Host') or f'{address[0]}:{address[1]}'}"

    def _reply(self, status: int, headers: dict[str, str], payload: bytes) -> None:
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Access-Control-Allow-Origin", "*")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # A map cancels the tiles it no longer needs; nothing to do about it.
            self.close_connection = True


CATALOGUE_PATH = "/planbestammelsekatalogen/v1/"


def catalogue_answer(path: str, query: str, base_url: str) -> tuple[int, bytes]:
    """Answer the stand-in for Boverket's plan-regulation catalogue, paged.

    ``/planbestammelsekatalogen/v1/releases`` lists the releases;
    ``/planbestammelsekatalogen/v1/releases/<release>/bestammelser?offset=&limit=`` gives
    ``{"release", "total", "items": [...], "next"}``.
    """
    from urllib.parse import parse_qs

    from fixtures.catalogue import RELEASE, records

    rest = path[len(CATALOGUE_PATH):].strip("/").split("/")
    if rest == ["releases"]:
        return 200, json.dumps({"releases": [RELEASE]}).encode()
    if len(rest) == 3 and rest[0] == "releases" and rest[2] == "bestammelser":
        if rest[1] != RELEASE:
            return 404, json.dumps({"error": f"no release {rest[1]}"}).encode()
        params = parse_qs(query)
        try:
            offset = int(params.get("offset", ["0"])[0])
            limit = min(int(params.get("limit", ["100"])[0]), 1000)
        except ValueError:
            return 400, json.dumps({"error": "offset and limit are numbers"}).encode()
        items = records()
        page = items[offset:offset + limit]
        more = offset + limit < len(items)
        url = f"{base_url}{CATALOGUE_PATH}releases/{RELEASE}/bestammelser"
        return 200, json.dumps({
            "release": RELEASE, "total": len(items), "items": page,
            "next": f"{url}?offset={offset + limit}&limit={limit}" if more else None,
        }, ensure_ascii=False).encode()
    return 404, json.dumps({"error": "unknown path"}).encode()


def parse_cgi_output(raw: bytes) -> tuple[int, dict[str, str], bytes]:
    """Split a CGI response into status, headers and body."""
    for sep in (b"\r\n\r\n", b"\n\n"):
        head, found, body = raw.partition(sep)
        if found:
            break
    else:
        return 502, {"Content-Type": "text/plain"}, b"mapserv gave no CGI headers\n"
    status = 200
    headers: dict[str, str] = {}
    for line in head.decode("latin-1").splitlines():
        name, _, value = line.partition(":")
        if name.lower() == "status":
            status = int(value.strip().split()[0])
        elif name:
            headers[name.strip()] = value.strip()
    return status, headers, body


class Server(ThreadingHTTPServer):
    """A threaded HTTP server whose request threads never block shutdown."""

    daemon_threads = True
    request_queue_size = 64


def make_server(data: Path, workdir: Path, host: str = "127.0.0.1", port: int = 8081,
                verbose: bool = False) -> Server:
    """Render the mapfile and bind the gateway; raise ``OGCServerError`` if it cannot."""
    if not Path(MAPSERV).exists() and not shutil.which("mapserv"):
        raise OGCServerError("mapserv is not installed (Debian package cgi-mapserver)")
    config = render_mapfile(data, workdir, host, port)
    handler = type("BoundGateway", (Gateway,), {"config": config, "quiet": not verbose})
    try:
        return Server((host, port), handler)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise OGCServerError(
                f"port {port} on {host} is already taken by another program; stop it or "
                f"choose another port (LOVKARTA_OGC_PORT)") from exc
        raise OGCServerError(f"cannot listen on {host}:{port}: {exc}") from exc


def serve_in_thread(server: Server) -> threading.Thread:
    """Serve in a daemon thread; stop with ``server.shutdown()``."""
    thread = threading.Thread(target=server.serve_forever, name="ogcserver", daemon=True)
    thread.start()
    return thread
