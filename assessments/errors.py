"""Errors a user can read: each carries a catalog key and its parameters, never a sentence."""

from __future__ import annotations


class DomainError(Exception):
    """Bad input or a refused operation; ``key`` is looked up in the translation catalog."""

    def __init__(self, key: str, /, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params

    def message(self, lang: str = "es") -> str:
        from assessments.i18n import translate

        return translate(self.key, lang, **self.params)

    def __str__(self) -> str:  # English in logs and pytest output
        return f"{self.key}: {self.message('en')}"


class ValidationFailed(DomainError):
    """Input that breaks a rule (off the scale, empty name, unknown code, ...)."""


class NotFound(DomainError):
    """A record the user referred to does not exist (any more)."""


class Conflict(DomainError):
    """Someone else changed the same record since it was read: nothing was overwritten."""


class PermissionDenied(DomainError):
    """The acting user's role does not allow this operation."""
