"""Step 6: solve to a proven optimum, build the plan, and check it with the independent verifier."""
