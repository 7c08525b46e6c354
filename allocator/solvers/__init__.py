"""Step 5: solver backends behind one interface (see :mod:`allocator.solvers.base`).

| name  | solver                          | capabilities                         |
|-------|---------------------------------|--------------------------------------|
| cbc   | PuLP + CBC (the reference)      | exact, time limit                    |
| highs | HiGHS LP through OR-Tools       | exact, time limit                    |
| cpsat | OR-Tools CP-SAT, scaled costs   | exact, time limit, warm start        |
| flow  | greedy or OR-Tools min-cost flow| exact (declines unnested bounds)     |
"""

from __future__ import annotations

import importlib

from allocator.core.problem import ProblemData
from allocator.solvers.base import Backend, BackendResult, Capability
from allocator.solvers.flow import FlowBackend, structure

#: Backend name -> "module:class". Imported only when used: CP-SAT alone pulls in
#: pandas (0.3 s), which a command-line run should not pay for unless it asks.
BACKENDS: dict[str, str] = {
    "cbc": "allocator.solvers.cbc:CbcBackend",
    "highs": "allocator.solvers.highs:HighsBackend",
    "cpsat": "allocator.solvers.cpsat:CpSatBackend",
    "flow": "allocator.solvers.flow:FlowBackend",
}


def backend_class(name: str) -> type[Backend]:
    """The backend class registered under ``name``, imported on first use."""
    try:
        module, _, attribute = BACKENDS[name].partition(":")
    except KeyError:
        raise ValueError(f"unknown solver '{name}'; choose one of: auto, {', '.join(sorted(BACKENDS))}") from None
    return getattr(importlib.import_module(module), attribute)  # type: ignore[no-any-return]


def get_backend(name: str) -> Backend:
    """An instance of the backend registered under ``name``."""
    return backend_class(name)()


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
    return get_backend("highs"), "auto: bounds are not nested, so the integral-relaxation LP is solved by HiGHS"


__all__ = ["Backend", "BackendResult", "Capability", "BACKENDS", "backend_class", "get_backend", "choose_backend"]
