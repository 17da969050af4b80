"""Station operators: accounts with PINs (argon2), roles, lockout, and an optional own finger."""

from station.operators.store import (
    Account,
    LockedOut,
    LoginFailed,
    NotAllowed,
    OperatorError,
    OperatorStore,
    Role,
)

__all__ = ["Account", "LockedOut", "LoginFailed", "NotAllowed", "OperatorError", "OperatorStore", "Role"]
