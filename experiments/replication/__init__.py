"""Paired replication: the same seeds run in several worlds on common random numbers (with and without
alliances or a policy), per-firm counterfactuals, displacement, equal-spend budgets and the declared
uncertainties and levers that become a run's overrides."""
