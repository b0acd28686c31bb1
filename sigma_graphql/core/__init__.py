"""Ground layer: settings, clock, i18n, errors, viewer, pubsub, passwords. Imports nothing of
ours."""
