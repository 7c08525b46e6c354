"""The classical apportionment methods (Hamilton, Droop and the divisor methods), exact, with bounds.

They sit below the pipeline: the model schema names their methods, and the
``apportionment`` objective turns a method into a separable convex cost.
``biproportional`` shares a matrix by the biproportional divisor method.
"""

from allocator.apportion.methods import (
    DIVISOR_METHODS,
    FIRST_DIVISOR,
    MAX_TOTAL,
    METHOD_NAMES,
    METHODS,
    NEXT_SEATS,
    TIE_RULES,
    Apportionment,
    Tie,
    apportion,
    claim,
    droop_quota,
    excluded_by_threshold,
    first_divisor_of,
    method_named,
    restricted_quotas,
    signpost,
    signpost_sums,
    signposts,
)

__all__ = ["DIVISOR_METHODS", "FIRST_DIVISOR", "MAX_TOTAL", "METHOD_NAMES", "METHODS", "NEXT_SEATS", "TIE_RULES",
           "Apportionment", "Tie", "apportion", "claim", "droop_quota", "excluded_by_threshold", "first_divisor_of",
           "method_named", "restricted_quotas", "signpost", "signpost_sums", "signposts"]
