"""When paging has ended, and what the server said it holds: pure rules, table-tested.

A sync that stops early loses data with a success message, so paging ends only when the
server says so, never because a page held fewer features than we asked for: servers cap
a page (``wfs_maxfeatures``, GeoServer's ``maxFeatures``, ``oga_max_limit``) below what a
client asks, and many cap their count of hits the same way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_START = re.compile(r"[?&](?:STARTINDEX|startIndex|startindex)=(\d+)")


def next_start(next_url: str | None) -> int | None:
    """Return the start index a WFS 2.0 ``next`` link asks for (None: none, or unreadable)."""
    if not next_url:
        return None
    found = _START.search(next_url.replace("&amp;", "&"))
    return int(found.group(1)) if found else None


@dataclass
class PageRules:
    """Where the next page starts, or that paging has ended, decided page by page.

    ``size`` is what we ask a page to hold (COUNT); ``known`` says that the server is
    known to fill a page of ``size`` unless it is the last: it said so in its
    capabilities (CountDefault), filled one, or stepped by it in a ``next`` link.
    ``next_links`` says that the protocol marks every page but the last with a ``next``
    link (WFS 2.0); without them (WFS 1.1) only an empty page ends paging.
    """

    size: int
    next_links: bool
    known: bool = False

    def server_cap(self, cap: int | None) -> None:
        """Take the most features the server gives a page, from its capabilities."""
        if cap is None or cap < 1:
            return
        self.size = min(self.size, cap)
        self.known = True

    def after(self, start: int, returned: int, has_next: bool,
              next_at: int | None = None) -> int | None:
        """Return the start index of the next page, or None if paging has ended.

        ``returned`` is how many features the page at ``start`` held, ``has_next``
        whether it carried a next link and ``next_at`` the start index that link asks for.
        """
        if returned == 0:
            return None  # an empty page: nothing from here on
        if has_next:
            # The server says there is more, and where: its step is its page size.
            following = next_at if next_at is not None and next_at > start else (
                start + returned)
            self.size, self.known = following - start, True
            return following
        if returned > self.size:
            # It ignored the page size we asked for: page by its own.
            self.size, self.known = returned, False
            return start + returned
        if returned == self.size:
            self.known = True  # a full page: a short one after it is the last
            return start + returned
        if self.next_links and self.known:
            return None  # a short page without a next link: the server says it is the last
        # The server's cap or the end: which, the next page tells (an empty page ends).
        self.size = returned
        return start + returned


@dataclass(frozen=True)
class ServerCount:
    """How many features the server said the request matches.

    ``value`` is None when it did not say (``numberMatched="unknown"``); ``exact`` is
    False for a count known to be capped (a lower bound, never a total). A count of hits
    from a server whose page cap is unknown is ``exact`` until paging reaches it with a
    full page (``firm`` False): it may be capped at a cap we do not know.
    """

    value: int | None = None
    exact: bool = False
    firm: bool = True

    @classmethod
    def from_hits(cls, hits: int | None, cap: int | None) -> ServerCount:
        """Read a ``RESULTTYPE=hits`` answer: a count equal to the server's page cap is
        taken as capped (MapServer caps hits at ``wfs_maxfeatures`` by default)."""
        if hits is None:
            return cls()
        return cls(hits, exact=cap is None or hits != cap, firm=cap is not None)

    @property
    def total(self) -> int | None:
        """The count as a total, if it is one."""
        return self.value if self.exact else None

    def reached(self, got: int, full_page: bool) -> ServerCount:
        """Return the count after ``got`` features: a full page that reaches a count that
        may be capped (or any page past it) shows that it is only a lower bound."""
        if self.value is None or not self.exact or self.firm:
            return self
        if got > self.value or (got == self.value and full_page):
            return ServerCount(self.value, exact=False)
        return self

    def describe(self) -> str:
        """Say it for a summary line: ``2826``, ``at least 500`` or ``unknown``."""
        if self.value is None:
            return "unknown"
        return f"{self.value}" if self.exact else f"at least {self.value}"

    def shortfall(self, read: int) -> str | None:
        """Say how reading ``read`` features disagrees with the count, or None if not."""
        if self.value is None:
            return None
        if self.exact and read != self.value:
            return f"the server counted {self.value} features but {read} were read"
        if not self.exact and read < self.value:
            return f"the server counted at least {self.value} features but {read} were read"
        return None
