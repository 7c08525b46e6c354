"""Solver backends behind one interface (see :mod:`allocator.backends.base`)."""

from __future__ import annotations

from allocator.backends.base import Backend, BackendResult, Capability
from allocator.backends.cbc import CbcBackend

BACKENDS: dict[str, type[Backend]] = {"cbc": CbcBackend}


def get_backend(name: str) -> Backend:
    """The backend registered under ``name``."""
    try:
        return BACKENDS[name]()
    except KeyError:
        raise ValueError(f"unknown solver '{name}'; choose one of: {', '.join(sorted(BACKENDS))}") from None


__all__ = ["Backend", "BackendResult", "Capability", "BACKENDS", "get_backend"]
