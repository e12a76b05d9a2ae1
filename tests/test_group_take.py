"""The take step of every group queue (issue 23): "Ik neem hem" on the orthopaedic group's queue, one rule with the
expertise teams' (consults/teams.py): the consult becomes the taker's own and in progress, the colleague sees who
took it, and of two takes at once the second is told who was first."""

from __future__ import annotations

import re
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import FrozenClock, GPSystem
from tests.team_helpers import DE_BOER, ORTHO_GROUP_AGB, WILLEMS, knee_request, orthopaedists, owner_of, send
from tests.web.test_inbox import csrf, log_in
from triage_service.audit.trail import CLI_ACTOR
from triage_service.consults.teams import take_from_queue, taken_by, taken_from_my_queues
from triage_service.database import session_factory, session_scope
from triage_service.demo import DEMO_PASSWORD
from triage_service.errors import Conflict, NotFound
from triage_service.models import AuditEntry, Consult, DeadlineEvent


def _text(page: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def test_an_orthopaedic_consult_waits_in_the_group_queue_until_a_member_takes_it(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    de_boer, willems = orthopaedists(app)
    consult_id = send(gp, knee_request(consult_request))
    assert owner_of(app, consult_id) == ("organisation", ORTHO_GROUP_AGB, "accepted")

    with session_scope(app) as session:
        take_from_queue(session, CLI_ACTOR, de_boer, consult_id, clock.now)

    assert owner_of(app, consult_id) == ("practitioner", DE_BOER[2], "in-progress")
    with session_scope(app) as session:
        consult = session.get(Consult, consult_id)
        assert consult is not None
        taken = taken_by(session, consult.task.id)
        assert taken is not None and (taken.by_name, taken.queue_agb) == (DE_BOER[1], ORTHO_GROUP_AGB)
        # The colleague sees who has it, below the group view.
        rows = taken_from_my_queues(session, willems, clock.now)
        assert [(r.consult_id, r.by_name) for r in rows] == [(consult_id, DE_BOER[1])]
        assert session.scalar(select(AuditEntry.detail).where(AuditEntry.event == "queue.take")) \
            == f"queue={ORTHO_GROUP_AGB}"


def test_the_second_of_two_members_taking_is_told_who_took_it_first(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    de_boer, willems = orthopaedists(app)
    consult_id = send(gp, knee_request(consult_request))
    late = session_factory(app)()
    try:
        # Willems's session has read the consult (still in the queue) when De Boer takes it and commits. (SQLite
        # runs one writing transaction at a time, so his read ends first; on PostgreSQL see the test below.)
        assert late.get(Consult, consult_id) is not None
        late.commit()
        with session_scope(app) as session:
            take_from_queue(session, CLI_ACTOR, de_boer, consult_id, clock.now)
        with pytest.raises(Conflict) as refused:
            take_from_queue(late, CLI_ACTOR, willems, consult_id, clock.now)
        assert refused.value.message == f"{DE_BOER[1]} already took this consult"
    finally:
        late.rollback()
        late.close()
    assert owner_of(app, consult_id) == ("practitioner", DE_BOER[2], "in-progress")


def test_two_takes_at_the_same_moment_wait_for_the_row_lock_on_postgresql(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    if app.extensions["triage.engine"].dialect.name != "postgresql":
        pytest.skip("SELECT ... FOR UPDATE is PostgreSQL's; SQLite serialises whole transactions")
    de_boer, willems = orthopaedists(app)
    consult_id = send(gp, knee_request(consult_request))
    first = session_factory(app)()
    outcome: list[BaseException | None] = []
    with app.app_context():
        take_from_queue(first, CLI_ACTOR, de_boer, consult_id, clock.now)  # holds the row lock, not committed

        def second() -> None:
            with app.app_context():
                session = session_factory(app)()
                try:
                    take_from_queue(session, CLI_ACTOR, willems, consult_id, clock.now)
                    session.commit()
                    outcome.append(None)
                except Conflict as refused:
                    session.rollback()
                    outcome.append(refused)
                finally:
                    session.close()

        waiting = threading.Thread(target=second)
        waiting.start()
        waiting.join(timeout=1)
        assert waiting.is_alive(), "the second take did not wait for the first's row lock"
        first.commit()
        first.close()
        waiting.join(timeout=10)
    assert len(outcome) == 1 and isinstance(outcome[0], Conflict)
    with session_scope(app) as session:
        assert len(session.scalars(select(DeadlineEvent).where(DeadlineEvent.kind == "queue-taken")).all()) == 1


def test_someone_outside_the_group_cannot_take_its_consult(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    from tests.team_helpers import VISSER, user
    orthopaedists(app)
    consult_id = send(gp, knee_request(consult_request))
    visser = user(app, VISSER[0])
    with session_scope(app) as session, pytest.raises(NotFound):
        take_from_queue(session, CLI_ACTOR, visser, consult_id, clock.now)
    assert owner_of(app, consult_id)[0] == "organisation"


def test_the_group_takes_with_the_i_ll_take_it_button_and_the_colleague_sees_who_took_it(
        app: Flask, gp: GPSystem, consult_request: dict[str, Any], clock: FrozenClock) -> None:
    orthopaedists(app)
    consult_id = send(gp, knee_request(consult_request))
    de_boer, willems = app.test_client(), app.test_client()
    log_in(de_boer, clock, DE_BOER[0], DEMO_PASSWORD, DE_BOER[3])
    log_in(willems, clock, WILLEMS[0], DEMO_PASSWORD, WILLEMS[3])

    page = de_boer.get(f"/consults/{consult_id}")
    assert "Ik neem hem" in page.get_data(as_text=True)
    taken = de_boer.post(f"/consults/{consult_id}/take-from-queue", data={"csrf_token": csrf(page)},
                         follow_redirects=True)
    assert taken.status_code == 200
    assert "U hebt dit consult genomen" in _text(taken.get_data(as_text=True))

    group = _text(willems.get("/inbox?view=group").get_data(as_text=True))
    assert f"Genomen door {DE_BOER[1]}" in group
    # Willems had the page open from before: his take is refused in words, naming who was first.
    refused = willems.post(f"/consults/{consult_id}/take-from-queue",
                           data={"csrf_token": csrf(willems.get("/inbox"))})
    assert refused.status_code == 409
    assert f"{DE_BOER[1]} heeft dit consult al genomen" in _text(refused.get_data(as_text=True))
