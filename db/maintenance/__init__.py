"""Migrations, indexes, seed data, rebuild and repair jobs (no CLI imports)."""
