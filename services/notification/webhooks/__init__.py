"""Webhooks: signed event envelopes POSTed to users' endpoints (SPEC §7)."""
