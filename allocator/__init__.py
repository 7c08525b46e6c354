"""allocator: exact, verified allocation of specialist medical training posts.

The pipeline, one subpackage per step; imports only go down this list:

1. :mod:`allocator.io`: read YAML/JSON/CSV/XLSX safely, validated schemas, loading.
2. :mod:`allocator.core`: need index, eligibility, targets; the exact integer program.
3. :mod:`allocator.solvers`: backends behind one interface, and the infeasibility diagnosis.
4. :mod:`allocator.results`: solve, the plan, the independent verifier.
5. :mod:`allocator.reports`: sensitivity and comparison.
6. :mod:`allocator.writers`: CSV, XLSX, JSON and Markdown, one module per report.

:mod:`allocator.apportion` (the classical methods) and :mod:`allocator.errors`
sit below them all; :mod:`allocator.cli` is the thin command line on top.
"""

__version__ = "0.1.0"
