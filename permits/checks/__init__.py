"""The legal rules a footprint is checked against: what the detailed plan allows.

``rules`` judges measured figures (pure), ``formulation`` reads regulations by their
catalogue text, ``measure`` asks geodata for the figures, ``footprint`` puts them
together and ``api`` offers them as ``POST /api/v1/checks``.
"""
