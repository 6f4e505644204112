"""paypipe's contracts: topic names, record headers, the normalized event, errors, config.

Every service imports this package; it imports nothing of ours.
"""
