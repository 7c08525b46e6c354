"""Step 8 of the pipeline: the files a run leaves behind, one module per report.

:mod:`~allocator.writers.output` stages every file and renames it into place;
:mod:`~allocator.writers.plan`, :mod:`~allocator.writers.sensitivity`,
:mod:`~allocator.writers.comparison`, :mod:`~allocator.writers.apportionment`
and :mod:`~allocator.writers.diagnosis` render their report's files.
"""
