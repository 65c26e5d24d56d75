"""Errors of the wire contract: each names the field at fault and why, so a client can fix it."""

from __future__ import annotations

__all__ = ["ContractError", "UnknownEventType", "ValidationError"]


class ContractError(ValueError):
    """Base of every error raised for input that breaks the wire contract."""


class ValidationError(ContractError):
    """A field is missing, of the wrong type, or outside its allowed values."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class UnknownEventType(ValidationError):
    """An event type that the contract does not define; the message lists the known ones."""

    def __init__(
        self, event_type: object, known: tuple[str, ...], field: str = "MessageType"
    ) -> None:
        super().__init__(
            field,
            f"unknown event type {event_type!r}; known types: {', '.join(known)}",
        )
        self.event_type = event_type
