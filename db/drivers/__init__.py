"""MongoDB and Cassandra clients, the handles bundle, round-trip counting, outage mapping."""
