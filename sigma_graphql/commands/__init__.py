"""The `sigma-graphql` command line: an explicit table of commands."""
