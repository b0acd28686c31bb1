"""Pure analytics algorithms (no I/O): calendar periods, growth, forecasts, anomaly scores.

Resolvers feed these with rows read through db/analytics.py and loaders/analytics.py, so every
algorithm is unit-tested on plain numbers.
"""
