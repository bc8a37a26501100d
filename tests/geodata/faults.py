"""A misbehaving server for the failures a real OGC server cannot be made to produce.

Requests to ``/<fault>/lovkarta...`` get the fault; ``/flaky-<n>/...`` fails ``n`` times
with 503 (or 429 for ``/busy-<n>/``) and then forwards to the real MapServer.

Paging faults forward to the real MapServer (configured with a page cap) and change one
thing of what real servers do differently: ``nocount`` ignores the page size asked for,
``nocaps`` advertises no page cap, ``nonext`` writes no ``next`` links (as WFS 2.0 servers
may), ``shortstop`` ends paging after 1,000 features with an empty page although the
count says more, and ``dies`` refuses every page from the 1,000th feature on.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

PAGE_PARAM = re.compile(r"(?i)[?&](?:count|maxfeatures)=\d+")
START_PARAM = re.compile(r"(?i)(startindex|offset)=(\d+)")
CAP_CONSTRAINT = re.compile(
    rb'<ows:Constraint name="(?:CountDefault|DefaultMaxFeatures)">.*?</ows:Constraint>', re.S)
NEXT_ATTRIBUTE = re.compile(rb'\snext="[^"]*"')


def _emptied(body: bytes) -> bytes:
    """An OGC API items page with its features and its next link taken out."""
    page = json.loads(body)
    page["features"], page["numberReturned"] = [], 0
    page["links"] = [link for link in page.get("links", []) if link.get("rel") != "next"]
    return json.dumps(page).encode()


def _past(rest: str, limit: int) -> bool:
    found = START_PARAM.search(rest)
    return found is not None and int(found.group(2)) >= limit

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0"
  xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:ms="http://mapserver.gis.umn.edu/mapserver">
<wfs:member><ms:x gml:id="x.1"><ms:etikett>&xxe;</ms:etikett></ms:x></wfs:member>
</wfs:FeatureCollection>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
<!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
<!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">]>
<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0">&lol5;</wfs:FeatureCollection>"""

EXCEPTION_REPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">
  <ows:Exception exceptionCode="OperationProcessingFailed" locator="typenames">
    <ows:ExceptionText>Database connection lost</ows:ExceptionText>
  </ows:Exception>
</ows:ExceptionReport>"""


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients that time out hang up on us: that is the point of some faults

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.upstream = upstream.rsplit("/lovkarta", 1)[0]
        self.hits: Counter[str] = Counter()
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class FaultHandler(BaseHTTPRequestHandler):
    server: FaultServer

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "text/xml",
              headers: dict[str, str] | None = None, length: int | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, rest: str, fault: str = "", edit: Callable[[bytes], bytes] | None = None
                 ) -> None:
        upstream = requests.get(f"{self.server.upstream}/{rest}", timeout=30)
        body = upstream.content
        if fault:  # links in the answer lead back through the fault
            body = body.replace(self.server.upstream.encode(),
                                f"{self.server.url}/{fault}".encode())
        self._send(upstream.status_code, edit(body) if edit else body,
                   upstream.headers.get("Content-Type", "text/xml"))

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        form = self.rfile.read(length).decode()
        expected = "Basic " + base64.b64encode(b"klient:hemlig").decode()
        if self.path == "/token" and self.headers.get("Authorization") == expected and (
                "grant_type=client_credentials" in form):
            self.server.hits["token"] += 1
            self._send(200, b'{"access_token": "tok-123", "expires_in": 3600}',
                       "application/json")
        else:
            self._send(401, b'{"error": "invalid_client"}', "application/json")

    def do_GET(self) -> None:  # noqa: N802
        fault, _, rest = self.path.lstrip("/").partition("/")
        self.server.hits[fault] += 1
        required = {"bearer": "Bearer tok-123",
                    "basic": "Basic " + base64.b64encode(b"anna:losen-123").decode()}
        if fault in required:
            if self.headers.get("Authorization") != required[fault]:
                self._send(401, b"who are you?", "text/plain")
                return
            self._forward(rest)
            return
        if fault == "slow":
            time.sleep(3)
            self._send(200, b"<late/>")
        elif fault == "exception":
            self._send(200, EXCEPTION_REPORT)
        elif fault == "xxe":
            self._send(200, XXE)
        elif fault == "bomb":
            self._send(200, BILLION_LAUGHS)
        elif fault == "truncated":
            self._send(200, b"<?xml version='1.0'?><wfs:FeatureCollection", length=5000)
            self.close_connection = True
        elif fault == "huge":
            self._send(200, b"<x>" + b" " * 2_000_000 + b"</x>")
        elif fault == "redirect":
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.2:9/lovkarta")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif fault == "nextlink":
            # A collection page whose next link leads to a host nobody registered.
            body = (b'{"type": "FeatureCollection", "features": [], "links": [{"rel": "next",'
                    b' "href": "http://127.0.0.2:9/steal?f=json"}]}')
            if "/items" in rest:
                self._send(200, body, "application/geo+json")
            else:
                self._send(200, b'{"id": "x", "crs": []}', "application/json")
        elif fault == "miscount":
            # Counts one feature more than paging will give: a skipped feature.
            upstream = requests.get(f"{self.server.upstream}/{rest}", timeout=30)
            body = upstream.content
            if "RESULTTYPE=hits" in rest:
                body = re.sub(rb'numberMatched="(\d+)"',
                              lambda m: b'numberMatched="%d"' % (int(m.group(1)) + 1), body)
            self._send(upstream.status_code, body, upstream.headers.get("Content-Type", ""))
        elif fault == "unstable":
            # Paging in the server's own order repeats a feature at every page boundary
            # (as a database without a stable natural order may); sorted paging is sound.
            if "SORTBY=" in rest:
                self.server.hits["unstable-sorted"] += 1
            else:
                rest = re.sub(r"STARTINDEX=(\d+)",
                              lambda m: f"STARTINDEX={max(0, int(m.group(1)) - 1)}", rest)
            self._forward(rest)
        elif fault == "nocount":
            self._forward(PAGE_PARAM.sub("", rest), fault)
        elif fault == "nocaps":
            self._forward(rest, fault, lambda body: CAP_CONSTRAINT.sub(b"", body))
        elif fault == "nonext":
            self._forward(rest, fault, lambda body: NEXT_ATTRIBUTE.sub(b"", body))
        elif fault == "shortstop":
            if _past(rest, 1000) and "/items" in rest:  # an empty page, no next link
                self._forward(rest, fault, _emptied)
                return
            if _past(rest, 1000):  # the real server's answer for a start past the end
                rest = START_PARAM.sub(lambda m: f"{m.group(1)}=10000000", rest)
            self._forward(rest, fault)
        elif fault == "dies":
            if _past(rest, 1000):
                self._send(503, b"down for maintenance", "text/plain")
                return
            self._forward(rest, fault)
        elif fault.startswith(("flaky-", "busy-")):
            kind, count = fault.split("-")
            if self.server.hits[fault] <= int(count):
                status = 503 if kind == "flaky" else 429
                self._send(status, b"try later", "text/plain", {"Retry-After": "0"})
                return
            self._forward(rest)
        else:
            self._send(404, b"no such fault", "text/plain")
