"""Analysis: results read back into estimates, tables and figures (survival curves, targets, the policy brief's
terms and ranks, plots); nothing here runs the model."""
