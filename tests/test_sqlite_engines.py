"""Several engines of one process on one SQLite file (a second app in a test, the CLI beside the server) keep
their locks: a closed descriptor of the database file releases every POSIX lock of the process, after which
another process may checkpoint and remove the WAL under the open connections (SQLITE_IOERR_SHORT_READ)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

from triage_service.database import make_engine
from triage_service.settings import Settings

CLOSE_AS_LAST = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1])
connection.execute("SELECT count(*) FROM t").fetchone()
connection.close()  # the last connection of all checkpoints and deletes the WAL file
"""


def test_building_a_second_engine_leaves_the_first_engines_locks_in_place(settings: Settings,
                                                                           tmp_path: Path) -> None:
    own = dataclasses.replace(settings, database_url=f"sqlite:///{tmp_path / 'shared.sqlite3'}")
    first = make_engine(own)
    with first.connect() as connection:
        connection.execute(text("CREATE TABLE t (x INTEGER)"))
        connection.execute(text("INSERT INTO t VALUES (1)"))
        connection.commit()
        make_engine(own).dispose()  # as create_app does for a second app on the same file

        subprocess.run([sys.executable, "-c", CLOSE_AS_LAST, str(tmp_path / "shared.sqlite3")], check=True)

        assert (tmp_path / "shared.sqlite3-wal").exists(), "another process took the WAL from an open connection"
        assert connection.execute(text("SELECT count(*) FROM t")).scalar() == 1
    first.dispose()
