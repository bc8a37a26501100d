"""HTTP for source adapters: timeouts, an overall deadline, a size cap and retries.

Every call to an external service goes through :class:`SourceHTTP`, so that no adapter
can forget a timeout or follow a redirect to a host it was not registered for.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from geodata.errors import SourceResponseError, SourceUnavailable
from geodata.sources.credentials import Credentials

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class HTTPPolicy:
    """Limits for talking to one source."""

    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    deadline: float = 3600.0
    max_bytes: int = 256 * 1024 * 1024
    retries: int = 3
    backoff: float = 0.5
    max_retry_after: float = 30.0
    parallel: int = 2  # requests in flight at once while paging


def response_version(response: requests.Response) -> str:
    """Return what identifies the version of an answer: ETag, else Last-Modified."""
    return (response.headers.get("ETag") or response.headers.get("Last-Modified") or "")[:200]


_UPDATE_SEQUENCE = re.compile(rb'updateSequence="([^"]{1,64})"')


def capabilities_version(response: requests.Response) -> str:
    """Return the version of a capabilities answer: its updateSequence, else the headers'."""
    stamp = _UPDATE_SEQUENCE.search(response.content[:4096])
    return stamp.group(1).decode() if stamp else response_version(response)


def background_http(url: str, timeout: float, max_bytes: int) -> SourceHTTP:
    """HTTP for background images: short, no retries (a map is drawn without them)."""
    return SourceHTTP("background-map", url, HTTPPolicy(
        connect_timeout=timeout, read_timeout=timeout, retries=0, deadline=timeout * 2,
        max_bytes=max_bytes))


class SourceHTTP:
    """Fetch URLs of one registered source, within its policy."""

    def __init__(self, source_name: str, base_url: str, policy: HTTPPolicy | None = None,
                 credentials: Credentials | None = None) -> None:
        self.source_name = source_name
        self.base_url = base_url
        self.policy = policy or HTTPPolicy()
        self.credentials = credentials or Credentials(source_name)
        self.session = requests.Session()
        self.session.trust_env = False  # no proxies or .netrc from the environment
        self.session.headers.update({"User-Agent": "Lovkarta/0.1 (+geodata)"})
        self.started = time.monotonic()
        self.bytes_read = 0

    def _check_host(self, url: str) -> None:
        allowed, asked = urlsplit(self.base_url), urlsplit(url)
        if (asked.scheme, asked.hostname, asked.port) != (
                allowed.scheme, allowed.hostname, allowed.port):
            raise SourceResponseError(
                self.source_name, f"refused to fetch {url}: not the registered host "
                f"{allowed.scheme}://{allowed.netloc}")

    def get(self, url: str, params: dict[str, str] | None = None,
            accept: str | None = None) -> requests.Response:
        """GET a URL of this source, retrying transient failures; return a read response."""
        self._check_host(url)
        attempt = 0
        while True:
            remaining = self.policy.deadline - (time.monotonic() - self.started)
            if remaining <= 0:
                raise SourceUnavailable(self.source_name,
                                        f"gave up after the {self.policy.deadline:.0f} s deadline")
            try:
                response = self._get_once(url, params, accept, remaining)
            except (requests.Timeout, requests.ConnectionError) as exc:
                failure: Exception = exc
                status = None
                retry_after = ""
            else:
                if response.status_code in (401, 403):
                    raise SourceUnavailable(
                        self.source_name, f"HTTP {response.status_code}: the source refused "
                        "our credentials (check its environment variables)")
                if response.status_code not in RETRY_STATUSES:
                    return response
                failure = SourceUnavailable(
                    self.source_name, f"HTTP {response.status_code} from {response.url}")
                status = response.status_code
                retry_after = response.headers.get("Retry-After", "")
            attempt += 1
            if attempt > self.policy.retries:
                if isinstance(failure, requests.Timeout):
                    raise SourceUnavailable(self.source_name,
                                            f"no answer in time from {url}") from failure
                if isinstance(failure, requests.ConnectionError):
                    raise SourceUnavailable(self.source_name,
                                            f"cannot connect to {url}") from failure
                raise failure
            delay = self.policy.backoff * (2 ** (attempt - 1))
            if retry_after.isdigit():  # a 429 or 503 that says when to come back
                delay = max(delay, min(float(retry_after), self.policy.max_retry_after))
            log.warning("%s: %s (attempt %d), retrying in %.1f s", self.source_name,
                        status or type(failure).__name__, attempt, delay)
            time.sleep(delay)

    def _get_once(self, url: str, params: dict[str, str] | None, accept: str | None,
                  remaining: float) -> requests.Response:
        timeout = (self.policy.connect_timeout, min(self.policy.read_timeout, remaining))
        headers = {"Accept": accept} if accept else {}
        headers.update(self.credentials.headers(timeout))
        response = self.session.get(url, params=params, headers=headers, timeout=timeout,
                                    stream=True, allow_redirects=False,
                                    auth=self.credentials.auth())
        if response.is_redirect:
            location = response.headers.get("Location", "")
            response.close()
            self._check_host(requests.compat.urljoin(url, location))
            return self._get_once(requests.compat.urljoin(url, location), None, accept,
                                  remaining)
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=1 << 16):
                size += len(chunk)
                if size > self.policy.max_bytes:
                    raise SourceResponseError(
                        self.source_name,
                        f"response from {response.url} is larger than the "
                        f"{self.policy.max_bytes // (1024 * 1024)} MB cap")
                chunks.append(chunk)
        except (requests.exceptions.ChunkedEncodingError,
                requests.exceptions.ConnectionError) as exc:
            raise SourceResponseError(self.source_name,
                                      f"truncated response from {response.url}") from exc
        finally:
            response.close()
        response._content = b"".join(chunks)  # noqa: SLF001 (we read the body ourselves)
        self.bytes_read += size
        expected = response.headers.get("Content-Length")
        if expected and expected.isdigit() and int(expected) != size and not response.headers.get(
                "Content-Encoding"):
            raise SourceResponseError(
                self.source_name,
                f"truncated response from {response.url}: {size} of {expected} bytes")
        return response
