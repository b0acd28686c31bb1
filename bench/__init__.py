"""Load benchmarks (`make bench`): baselines B0-B2 against the real server B3. Not tests."""
