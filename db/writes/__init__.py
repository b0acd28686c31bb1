"""Cross-database write flows and the aggregates they maintain."""
