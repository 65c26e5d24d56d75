"""Errors of the wire contract: each names the field at fault and why, so a client can fix it."""

from __future__ import annotations

__all__ = ["SHOWN_CHARACTERS", "ContractError", "UnknownEventType", "ValidationError", "shown"]

# How much of an offending value an error message shows: enough to recognise it, never an
# echo of a 128 KB body (the error frame must itself fit in a frame).
SHOWN_CHARACTERS = 48


def shown(value: object) -> str:
    """A short rendering of a value for an error message, printable whatever the value (a
    lone surrogate, a huge integer or a deep list cannot make it raise)."""
    if isinstance(value, str):
        head = value[:SHOWN_CHARACTERS].encode("utf-8", "backslashreplace").decode("utf-8")
        return repr(head) + ("..." if len(value) > SHOWN_CHARACTERS else "")
    if value is None or isinstance(value, bool | float):
        return repr(value)
    if isinstance(value, int) and value.bit_length() <= 64:
        return repr(value)
    return f"a {type(value).__name__}"


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
            f"unknown event type {shown(event_type)}; known types: {', '.join(known)}",
        )
        self.event_type = event_type
