"""A page of Tasks is read in the same few statements however many Tasks it holds (no query per Task), and
each Task on it says what a read of that Task says, flag notes included."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from sqlalchemy import event

from tests.conftest import GPSystem, new_request
from tests.routing.test_referral_flags import _body


@contextmanager
def _counted(app: Flask) -> Iterator[list[str]]:
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    engine = app.extensions["triage.engine"]
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", note)


def _search_page(app: Flask, gp: GPSystem) -> tuple[list[dict[str, Any]], int]:
    with _counted(app) as statements:
        response = gp.get("/fhir/Task?_count=50")
    assert response.status_code == 200
    return [e["resource"] for e in response.get_json()["entry"]], len(statements)


def _send(gp: GPSystem, body: dict[str, Any]) -> None:
    assert gp.post("/fhir/ServiceRequest", body).status_code == 201


def test_a_page_of_seven_flagged_tasks_takes_as_many_statements_as_a_page_of_three(
        app: Flask, gp: GPSystem, consult_request: dict) -> None:
    for _ in range(2):
        _send(gp, _body(consult_request))
    _send(gp, new_request(consult_request))
    few, statements_for_few = _search_page(app, gp)
    for _ in range(4):
        _send(gp, _body(consult_request))
    many, statements_for_many = _search_page(app, gp)

    assert (len(few), len(many)) == (3, 7)
    assert statements_for_many == statements_for_few
    assert all(task.get("note") for task in many)  # the example is flagged as a likely referral too


def test_each_task_on_a_page_says_what_a_read_of_it_says(app: Flask, gp: GPSystem, consult_request: dict) -> None:
    _send(gp, _body(consult_request))
    _send(gp, _body(consult_request, icpc="S88"))
    _send(gp, new_request(consult_request))
    page, _ = _search_page(app, gp)

    for task in page:
        read = gp.get(f"/fhir/Task/{task['id']}").get_json()
        assert task.get("note") == read.get("note")
        assert {k: v for k, v in task.items() if k != "meta"} == {k: v for k, v in read.items() if k != "meta"}
