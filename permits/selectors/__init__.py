"""Reads of permit data, always scoped to who asks."""
