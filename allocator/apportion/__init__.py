"""The classical apportionment methods (Hamilton and the divisor methods), exact, with bounds.

They sit below the pipeline: the model schema names their methods, and the
``apportionment`` objective turns a method into a separable convex cost.
"""

from allocator.apportion.methods import (
    DIVISOR_METHODS,
    METHOD_NAMES,
    METHODS,
    NEXT_SEATS,
    Apportionment,
    Tie,
    apportion,
    claim,
    method_named,
    restricted_quotas,
    signposts,
)

__all__ = ["DIVISOR_METHODS", "METHOD_NAMES", "METHODS", "NEXT_SEATS", "Apportionment", "Tie", "apportion", "claim",
           "method_named", "restricted_quotas", "signposts"]
