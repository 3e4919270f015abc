"""Errors the services raise. Each carries message keys, never final text,
so the console and the command line translate them the same way."""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field

from onenet_tui.i18n import t


class DomainError(Exception):
    """Base of every expected failure; ``exit_code`` is the command line's."""

    exit_code = 1

    def message(self) -> str:
        raise NotImplementedError

    def __str__(self) -> str:
        return self.message()


@dataclass(frozen=True)
class FieldError:
    field: str
    key: str
    params: dict[str, object] = dataclass_field(default_factory=dict)

    def message(self) -> str:
        # The reader's language: a "lang" among the params must not pick another.
        return t(self.key, lang=None, **self.params)


class InvalidInput(DomainError):
    """One or more fields are invalid (exit 4). Names every field."""

    exit_code = 4

    def __init__(self, errors: list[FieldError]):
        super().__init__()
        self.errors = errors

    @classmethod
    def single(cls, field_name: str, key: str, **params: object) -> InvalidInput:
        return cls([FieldError(field_name, key, params)])

    def for_field(self, name: str) -> FieldError | None:
        return next((e for e in self.errors if e.field == name), None)

    def message(self) -> str:
        """Each field named once, its problems after it: "Numbers (numbers): a; b"."""
        by_field: dict[str, list[str]] = {}
        for error in self.errors:
            by_field.setdefault(error.field, []).append(error.message())
        return "; ".join(f"{t('field.' + name)} ({name}): {'; '.join(texts)}" for name, texts in by_field.items())


class RuleRefused(DomainError):
    """A rule (R4, R5, R7, R14 ...) forbids the action (exit 3)."""

    exit_code = 3

    def __init__(self, rule: str, reason_key: str, **params: object):
        super().__init__()
        self.rule = rule
        self.reason_key = reason_key
        self.params = params

    def reason(self) -> str:
        return t(self.reason_key, lang=None, **self.params)

    def message(self) -> str:
        return f"{self.rule}: {self.reason()}"


class NotFound(DomainError):
    exit_code = 5

    def __init__(self, kind: str, ident: object):
        super().__init__()
        self.kind = kind
        self.ident = ident

    def message(self) -> str:
        return t("error.not_found", kind=t("kind." + self.kind), ident=self.ident)


class Conflict(DomainError):
    """Someone else got there first: a unique value was taken concurrently,
    or a tenant already exists (exit 5)."""

    exit_code = 5

    def __init__(self, key: str, **params: object):
        super().__init__()
        self.key = key
        self.params = params

    def message(self) -> str:
        return t(self.key, lang=None, **self.params)


class StaleData(Conflict):
    """Optimistic locking: the record changed since the caller read it."""

    def __init__(self, username: str | None = None):
        super().__init__("error.stale" if username else "error.stale_someone", username=username)


class Busy(Conflict):
    """Another process holds the SQLite write lock for longer than the busy
    timeout: nothing was changed, trying again later works (exit 5)."""

    def __init__(self) -> None:
        super().__init__("error.busy")
