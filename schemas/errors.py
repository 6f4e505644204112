"""Errors say what happens next.

    PipelineError
    ├── PermanentError          never retried
    │   ├── SignatureError      → payments.rejected
    │   │   ├── SignatureMissing    headers absent or malformed (HTTP 400 at the edge)
    │   │   └── SignatureInvalid    no secret matches, or outside the tolerance (HTTP 401)
    │   └── PayloadInvalid      → payments.dlq: unparseable or unmappable business payload
    │       └── AmountNotExact      an amount that cannot be represented in minor units
    ├── TransientError          → payments.retry.<tier>, then payments.dlq
    │   ├── CertFetchFailed
    │   └── SinkUnavailable
    └── DuplicateEvent          not a failure: counted and dropped

Anything else that escapes a stage is treated as transient. Messages are sentences and never
contain payloads, header values or secrets.
"""


class PipelineError(Exception):
    """Base of every error paypipe raises on purpose."""


class PermanentError(PipelineError):
    """Retrying cannot help: dead-letter (or reject) at once."""


class SignatureError(PermanentError):
    """The request's signature does not prove it came from the provider."""


class SignatureMissing(SignatureError):
    """The provider's signature headers are absent or malformed."""


class SignatureInvalid(SignatureError):
    """The signature is well-formed but matches no active secret, or is too old or too new."""


class PayloadInvalid(PermanentError):
    """The body is authentic but cannot be parsed or mapped."""


class AmountNotExact(PayloadInvalid):
    """An amount cannot be represented exactly in ISO 4217 minor units."""


class TransientError(PipelineError):
    """Worth retrying later: a retry tier, then the dead-letter topic."""


class CertFetchFailed(TransientError):
    """A provider certificate could not be fetched."""


class SinkUnavailable(TransientError):
    """The database could not be reached or refused the write for a passing reason."""


class DuplicateEvent(PipelineError):
    """The event was seen before; dropped and counted, not a failure."""


def error_class(exc: BaseException) -> str:
    """The name recorded with a failure: the class name, never the message's payload."""
    return type(exc).__name__
