"""Free words of the audit log's filter (R26) found in an index instead of
by reading the trail: a word in no event made a page read all million of
them (2 s). A trigram index serves any part of a word of three or more
characters, case ignored, as the filter matches it (``port`` finds
"porting"):

- SQLite: ``audit_words``, an FTS5 table with the trigram tokenizer over the
  events' operator, action, target and details (external content: the text
  stays in ``audit_events``; kept up to date by triggers), which events hold
  each piece but not where (``detail=none``: 100 MB for a million events
  where positions took 430 MB), so its answers are checked by LIKE;
- PostgreSQL: a GIN index with ``pg_trgm`` over :func:`searchable`, which
  LIKE uses as it is (where the extension could not be installed, the same
  LIKE reads the table).

An index answers slowly for a word in most events ("user": every rowid of
it is read), which the newest few thousand events answer at once, so a page
asks those first (:data:`WINDOW`) and the index only when they fall short.
Both migration 0010 and this module name the index's parts.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, String, Text, and_, cast, func, literal_column, or_, select, table, text
from sqlmodel import Session, col

from onenet_tui.data.models import AuditEvent

# A trigram index holds three-character pieces: shorter words are read for.
MIN_INDEXED = 3
# Events read newest first for a page of free words before the index is asked.
WINDOW = 5000
SQLITE_TABLE = "audit_words"
# The text columns, in the order the FTS table and PostgreSQL's expression hold them.
COLUMNS = ("operator", "action", "target", "details")
_LIKE_ESCAPE = "!"


def like_pattern(word: str) -> str:
    """``word`` anywhere, its LIKE wildcards taken literally (escape ``!``)."""
    escaped = word.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


def scanned(word: str, escaped: str) -> ColumnElement[bool]:
    """An event holding ``word`` in its operator, action or target, or
    ``escaped`` (the word as JSON writes it) in its details: read row by row."""
    text_columns = (col(AuditEvent.operator), col(AuditEvent.action), col(AuditEvent.target))
    matches = [func.lower(c).like(like_pattern(word), escape=_LIKE_ESCAPE) for c in text_columns]
    details = func.lower(cast(col(AuditEvent.details), String))
    matches.append(details.like(like_pattern(escaped), escape=_LIKE_ESCAPE))
    return or_(*matches)


def searchable() -> ColumnElement[str]:
    """PostgreSQL: the events' text as the trigram index holds it, written
    exactly as the index's expression (separators inline, not parameters,
    or the planner would not know it for the index's)."""
    space: ColumnElement[str] = literal_column("' '")
    joined = (
        col(AuditEvent.operator)
        + space
        + col(AuditEvent.action)
        + space
        + col(AuditEvent.target)
        + space
        + cast(col(AuditEvent.details), Text)  # TEXT, as the index: VARCHAR is another expression
    )
    return func.lower(joined)


def indexed(session: Session, word: str, escaped: str) -> ColumnElement[bool] | None:
    """The events holding the word, found in the index; None where there
    is none for it (a short word, no FTS5): then it is :func:`scanned`."""
    if len(word) < MIN_INDEXED:
        return None
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # The index finds the word anywhere in the joined text; then where.
        forms = dict.fromkeys([word, escaped])
        text_of = searchable()
        found = or_(*(text_of.like(like_pattern(form), escape=_LIKE_ESCAPE) for form in forms))
        return and_(found, scanned(word, escaped))
    if dialect != "sqlite" or not _has_fts(session):
        return None
    # The index keeps which events hold each three-character piece, not
    # where (a third of the size): it names the events holding every piece
    # of the word, and the word itself is then looked for in those alone.
    forms = dict.fromkeys([word, escaped])
    query = " OR ".join(f"({_pieces(form)})" for form in forms)
    hits: Select[tuple[int]] = (
        select(literal_column("rowid"))
        .select_from(table(SQLITE_TABLE))
        .where(literal_column(SQLITE_TABLE).op("MATCH")(query))
    )
    return and_(col(AuditEvent.id).in_(hits), scanned(word, escaped))


def _pieces(word: str) -> str:
    """An FTS5 query for the events holding every three-character piece of
    ``word``: each in double quotes (a double quote doubled), all of them."""
    pieces = dict.fromkeys(word[i : i + MIN_INDEXED] for i in range(len(word) - MIN_INDEXED + 1))
    return " AND ".join('"' + piece.replace('"', '""') + '"' for piece in pieces)


def _has_fts(session: Session) -> bool:
    found = session.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"), {"name": SQLITE_TABLE}
    ).first()
    return found is not None
