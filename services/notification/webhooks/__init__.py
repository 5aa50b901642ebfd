"""Webhooks: signed event envelopes POSTed to users' endpoints (docs/services.md)."""
