"""Errors the speech part reports as one clear line."""


class AsrError(RuntimeError):
    """A model, audio file or grammar that cannot be used; the message says which and why."""
