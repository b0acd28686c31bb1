"""Strawberry types, inputs, enums and scalars, one module per domain."""
