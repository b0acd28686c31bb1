"""Query cost, per-identity budgets and the public answer cache."""
