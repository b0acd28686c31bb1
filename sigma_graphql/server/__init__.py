"""The ASGI application, its middleware and the cross-process event bus."""
