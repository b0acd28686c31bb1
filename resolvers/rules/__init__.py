"""Input validation, one module per domain; pure functions returning user errors."""
