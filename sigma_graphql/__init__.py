"""sigma-graphql: the GraphQL API for monitoring Indonesia's UMKM."""
