"""One adapter per protocol: external services in, typed records out."""
