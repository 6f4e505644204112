"""Sinks: normalized events into PostgreSQL, and the reconciled payment state."""
