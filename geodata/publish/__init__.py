"""OGC API - Features over registered collections (``/ogc/``).

The cache's layers are registered here (``collections.py``); other apps register their own
open collections through :mod:`geodata.publish.registry` (permits registers ``cases``), so
geodata never imports them. Views of our own, not pygeoapi: see the README.
"""
