"""What each root field and mutation does, one module per domain."""
