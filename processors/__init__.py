"""Stream processors: verify → dedupe → normalize, with retry tiers and dead letters."""
