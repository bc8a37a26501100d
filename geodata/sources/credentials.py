"""Credentials for sources, read from environment variables the source names.

A source stores only a prefix (``credentials_env``); the secrets live in the environment:
``<PREFIX>_USER`` and ``<PREFIX>_PASSWORD`` (basic), ``<PREFIX>_API_KEY`` and optionally
``<PREFIX>_API_KEY_HEADER`` (API key), ``<PREFIX>_CLIENT_ID``, ``<PREFIX>_CLIENT_SECRET``,
``<PREFIX>_TOKEN_URL`` and optionally ``<PREFIX>_SCOPE`` (OAuth2 client credentials, as
Lantmäteriet's API portal uses). Values never appear in errors or logs.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

import requests

from geodata.errors import SourceUnavailable, UnsupportedSource

AUTH_KINDS = ("none", "basic", "apikey", "oauth2")
REQUIRED = {
    "none": (),
    "basic": ("USER", "PASSWORD"),
    "apikey": ("API_KEY",),
    "oauth2": ("CLIENT_ID", "CLIENT_SECRET", "TOKEN_URL"),
}


@dataclass
class Credentials:
    """How to authenticate to one source; ``values`` hold secrets and are never shown."""

    source: str
    kind: str = "none"
    values: dict[str, str] = field(default_factory=dict, repr=False)
    _token: str = field(default="", repr=False)
    _expires: float = 0.0

    def headers(self, timeout: tuple[float, float]) -> dict[str, str]:
        """Return the headers that authenticate a request."""
        if self.kind == "apikey":
            return {self.values.get("API_KEY_HEADER") or "X-API-Key": self.values["API_KEY"]}
        if self.kind == "oauth2":
            return {"Authorization": f"Bearer {self._bearer(timeout)}"}
        return {}

    def auth(self) -> tuple[str, str] | None:
        """Return (user, password) for HTTP Basic, or None."""
        if self.kind == "basic":
            return self.values["USER"], self.values["PASSWORD"]
        return None

    def _bearer(self, timeout: tuple[float, float]) -> str:
        if self._token and time.monotonic() < self._expires - 30:
            return self._token
        data = {"grant_type": "client_credentials"}
        if self.values.get("SCOPE"):
            data["scope"] = self.values["SCOPE"]
        try:
            response = requests.post(self.values["TOKEN_URL"], data=data, timeout=timeout,
                                     auth=(self.values["CLIENT_ID"],
                                           self.values["CLIENT_SECRET"]),
                                     allow_redirects=False)
        except requests.RequestException as exc:
            raise SourceUnavailable(self.source, "cannot reach the token endpoint") from exc
        if response.status_code != 200:
            raise SourceUnavailable(
                self.source, f"the token endpoint refused the client credentials "
                f"(HTTP {response.status_code})")
        try:
            body = response.json()
            self._token = str(body["access_token"])
        except (ValueError, KeyError) as exc:
            raise SourceUnavailable(self.source, "the token endpoint gave no access_token") \
                from exc
        self._expires = time.monotonic() + float(body.get("expires_in", 300))
        return self._token


def credentials_from_env(source: str, kind: str, prefix: str) -> Credentials:
    """Read a source's credentials; fail loudly, naming the variables, if any is missing."""
    if kind not in REQUIRED:
        raise UnsupportedSource(f"{source}: unknown authentication {kind!r}")
    if kind == "none":
        return Credentials(source)
    if not prefix:
        raise UnsupportedSource(f"{source}: authentication {kind} needs an environment "
                                "variable prefix (credentials_env)")
    missing = [f"{prefix}_{name}" for name in REQUIRED[kind] if not os.environ.get(
        f"{prefix}_{name}")]
    if missing:
        raise UnsupportedSource(f"{source}: environment variable(s) {', '.join(missing)} "
                                f"not set for {kind} authentication")
    optional = ("API_KEY_HEADER", "SCOPE")
    values = {name: os.environ[f"{prefix}_{name}"] for name in REQUIRED[kind] + optional
              if os.environ.get(f"{prefix}_{name}")}
    return Credentials(source, kind, values)
