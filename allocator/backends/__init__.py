"""Solver backends behind one interface (see :mod:`allocator.backends.base`).

| name  | solver                          | capabilities                         |
|-------|---------------------------------|--------------------------------------|
| cbc   | PuLP + CBC (the reference)      | exact, time limit                    |
| highs | HiGHS LP through OR-Tools       | exact, duals, time limit             |
| cpsat | OR-Tools CP-SAT, scaled costs   | exact, time limit, warm start        |
| flow  | greedy or OR-Tools min-cost flow| exact (declines unnested bounds)     |
"""

from __future__ import annotations

from allocator.backends.base import Backend, BackendResult, Capability
from allocator.backends.cbc import CbcBackend
from allocator.backends.cpsat import CpSatBackend
from allocator.backends.flow import FlowBackend, structure
from allocator.backends.highs import HighsBackend
from allocator.problem import ProblemData

BACKENDS: dict[str, type[Backend]] = {
    "cbc": CbcBackend,
    "highs": HighsBackend,
    "cpsat": CpSatBackend,
    "flow": FlowBackend,
}


def get_backend(name: str) -> Backend:
    """The backend registered under ``name``."""
    try:
        return BACKENDS[name]()
    except KeyError:
        raise ValueError(f"unknown solver '{name}'; choose one of: auto, {', '.join(sorted(BACKENDS))}") from None


def choose_backend(name: str, problem: ProblemData) -> tuple[Backend, str]:
    """The backend to run and why; ``auto`` picks the fastest exact backend the problem allows."""
    if name != "auto":
        backend = get_backend(name)
        if isinstance(backend, FlowBackend) and not backend.accepts(problem):
            raise ValueError("--solver flow needs bounds nested on the area tree; use --solver auto")
        return backend, f"chosen with --solver {name}"
    kind = structure(problem)
    if kind == "greedy":
        return FlowBackend(), "auto: only specialty totals and per-cell bounds, so greedy marginal allocation is exact"
    if kind == "flow":
        return FlowBackend(), "auto: bounds are nested on the area tree, so min-cost flow is exact"
    return HighsBackend(), "auto: bounds are not nested, so the integral-relaxation LP is solved by HiGHS"


__all__ = ["Backend", "BackendResult", "Capability", "BACKENDS", "get_backend", "choose_backend"]
