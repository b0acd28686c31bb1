"""MongoDB and Cassandra access: clients, repositories, schema migrations and seed data."""
