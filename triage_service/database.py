"""Engine and session handling: one session per request, committed once at the boundary.

Services flush but never commit (ARCHITECTURE.md, principle 4); the FHIR API
commits after a successful response and rolls back otherwise, so a failed
transaction Bundle leaves nothing behind.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from flask import Flask, current_app, g
from sqlalchemy import Engine, Table, create_engine, event, insert, make_url
from sqlalchemy.orm import DeclarativeBase, Session, SessionTransaction, sessionmaker

from triage_service.settings import Settings, ensure_private_dir


def make_engine(settings: Settings) -> Engine:
    url = settings.sqlalchemy_url
    if url.startswith("sqlite"):
        _create_private_sqlite_file(url)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # Foreign keys are off by default in SQLite; WAL lets readers and the
            # single writer of several gunicorn workers proceed side by side.
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            # Deleted rows are overwritten, not left readable in free pages of the file.
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()
            # We issue BEGIN ourselves (below); pysqlite's own implicit BEGIN is switched off.
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            # Every API request writes (at least its audit row). A deferred transaction that
            # reads first and then writes cannot wait for the lock and fails with "database is
            # locked" under concurrency; taking the write lock at BEGIN makes writers queue.
            connection.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def _create_private_sqlite_file(url: str) -> None:
    """Create the SQLite file as 0600 before SQLite does (it would use the umask, often 0644);
    SQLite gives its -wal and -shm files the database file's permissions."""
    path = make_url(url).database
    if not path or path == ":memory:":
        return
    ensure_private_dir(Path(path).parent)
    # Only a file that does not exist yet is opened here: closing any descriptor of a database file releases
    # every POSIX lock this process holds on it, so opening an existing file while another engine of this
    # process has it open let a second process checkpoint and shrink the WAL under that engine
    # (SQLITE_IOERR_SHORT_READ, seen when a test built a second app beside a running gunicorn).
    with suppress(FileExistsError):
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))


def init_app(app: Flask, settings: Settings) -> None:
    engine = make_engine(settings)
    app.extensions["triage.engine"] = engine
    # Sessions carry the settings: the outbox's session events (notifications/) need them.
    app.extensions["triage.sessionmaker"] = sessionmaker(bind=engine, expire_on_commit=False,
                                                         info={"triage.settings": settings})

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            # Whatever was not committed explicitly at the boundary is discarded.
            session.rollback()
            session.close()


def session_factory(app: Flask | None = None) -> sessionmaker[Session]:
    app = app or current_app
    factory: sessionmaker[Session] = app.extensions["triage.sessionmaker"]
    return factory


def get_session() -> Session:
    """The request's session (created on first use)."""
    if "db_session" not in g:
        g.db_session = session_factory()()
    session: Session = g.db_session
    return session


@contextmanager
def session_scope(app: Flask) -> Iterator[Session]:
    """A unit of work outside a request (CLI, worker): commit on success, else roll back.

    It runs inside the app's context so that the one clock (triage_service/clock.py) is the app's, also for
    column defaults written at flush."""
    with app.app_context():
        session = session_factory(app)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def insert_new(session: Session, model: type[DeclarativeBase], rows: list[dict[str, Any]]) -> None:
    """Insert rows that nothing reads back in the transaction writing them (audit entries, new facts, referral
    flags, routing decisions) as the table's rows (Core): one statement for all of them, without the ORM's unit
    of work (identity map, attribute history, flush ordering), which cost more CPU than the INSERT itself on the
    intake's hot path (issue 25). Column defaults and types (encryption, UTC datetimes) apply as in any INSERT.
    Every row must have the same keys."""
    if not rows:
        return
    table = model.__table__
    assert isinstance(table, Table)
    session.execute(insert(table), rows)


def append_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert many rows of an append-only table in the session's transaction, the fastest way the engine has:
    COPY on PostgreSQL (a month's hundred thousand declaration lines in a fraction of a second, where single-row
    statements took seconds), one executemany elsewhere (SQLite runs it in process). Each value passes through
    its column type's own bind processing first, exactly as an INSERT would (e.g. UTC datetimes stored naive).
    Every row must have the same keys."""
    if not rows:
        return
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = [table.c[name] for name in rows[0]]
    processors = [c.type.dialect_impl(connection.dialect).bind_processor(connection.dialect) for c in columns]
    driver = connection.connection.driver_connection
    assert driver is not None
    names = ", ".join(connection.dialect.identifier_preparer.quote(c.name) for c in columns)
    keys = [c.name for c in columns]
    # A column's value is often the very same object in every row (the batch, its time, who closed it): it is
    # processed once, not a hundred thousand times.
    last: list[Any] = [_UNSET] * len(keys)
    done: list[Any] = [None] * len(keys)
    with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
        for row in rows:
            values = [row[key] for key in keys]
            for i, process in enumerate(processors):
                if process is not None:
                    if values[i] is not last[i]:
                        last[i], done[i] = values[i], process(values[i])
                    values[i] = done[i]
            copy.write_row(values)


_UNSET = object()


def forget_at_transaction_end(*keys: str) -> None:
    """Drop these ``session.info`` entries when the whole transaction ends (committed or rolled back), for the
    listeners that collect what a unit of work changed and act on it at its commit. Not on "after_rollback":
    that fires for a rolled-back savepoint too, which must not make them forget what changed before it."""

    def forget(session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None:
            for key in keys:
                session.info.pop(key, None)

    event.listen(Session, "after_transaction_end", forget)
