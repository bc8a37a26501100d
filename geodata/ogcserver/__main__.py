"""Run the local OGC server: ``python -m geodata.ogcserver --port 8081``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from geodata.ogcserver import ALIAS, OGCServerError, make_server


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(description="Lovkarta's local OGC server (MapServer)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LOVKARTA_OGC_PORT", 8081)))
    parser.add_argument("--data", type=Path, default=Path("var/fixtures/sundsvall.gpkg"))
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to write the mapfile (default: beside the data)")
    parser.add_argument("--verbose", action="store_true", help="log requests and MapServer errors")
    args = parser.parse_args(argv)
    workdir = args.workdir or args.data.parent / f"mapserver-{args.port}"
    try:
        server = make_server(args.data, workdir, args.host, args.port, verbose=args.verbose)
    except OGCServerError as exc:
        print(f"ogcserver: {exc}", file=sys.stderr)
        return 2
    base = f"http://{args.host}:{args.port}/{ALIAS}"
    print(f"OGC server on {base} (WMS 1.3.0, WFS 2.0) and {base}/ogcapi (OGC API Features)",
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
