"""Every use of Strawberry / graphql-core internals: fast execution and schema extensions."""
