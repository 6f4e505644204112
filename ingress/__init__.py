"""The HTTP edge: receives webhooks and publishes each raw body to `payments.raw`."""
