"""Step 7: reports made from plans: sensitivity and the comparison of models."""
