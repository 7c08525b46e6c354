"""allocator: exact, verified allocation of specialist medical training posts.

The pipeline, one module per step:

1. :mod:`allocator.files`: read YAML/JSON/CSV/XLSX safely.
2. :mod:`allocator.schemas`, :mod:`allocator.loading`: validated instance and model.
3. :mod:`allocator.need`: need index, eligibility, targets.
4. :mod:`allocator.problem`, :mod:`allocator.formulation`: the exact integer program.
5. :mod:`allocator.backends`: solvers behind one interface.
6. :mod:`allocator.plan`, :mod:`allocator.verify`: the plan, checked independently.
7. :mod:`allocator.sensitivity`, :mod:`allocator.diagnose`: how firm a plan is; why no plan exists.
8. :mod:`allocator.writers`: CSV, XLSX, JSON and Markdown.
"""

__version__ = "0.1.0"
