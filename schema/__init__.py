"""Strawberry types, inputs, enums and the root Query/Mutation/Subscription, by domain."""
