"""A specialist's personal text snippets: recurring advice ("Standaard advies eczeem") written once and
inserted into the answer field (issue 21). Each belongs to one user and is never shown to another."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage_service.errors import N_, FormErrors, NotFound
from triage_service.models import TextSnippet

MAX_TITLE = 80
MAX_TEXT = 4_000
#: Enough for a specialist's standard answers; a row of buttons above the answer field stays usable.
MAX_SNIPPETS = 30


@dataclass(frozen=True)
class SnippetForm:
    title: str
    text: str


def parse_snippet(form: dict[str, str]) -> SnippetForm:
    errors: dict[str, str] = {}
    title = " ".join(form.get("title", "").split())
    text = form.get("text", "").strip()
    if not title:
        errors["title"] = N_("Give the snippet a short name")
    elif len(title) > MAX_TITLE:
        errors["title"] = N_("The name is too long (at most 80 characters)")
    if not text:
        errors["text"] = N_("Write the text of the snippet")
    elif len(text) > MAX_TEXT:
        errors["text"] = N_("This text is too long (at most 4,000 characters)")
    if errors:
        raise FormErrors(errors)
    return SnippetForm(title, text)


def snippets_of(session: Session, user_id: str) -> list[TextSnippet]:
    return list(session.scalars(select(TextSnippet).where(TextSnippet.user_id == user_id)
                                .order_by(func.lower(TextSnippet.title), TextSnippet.id)))


def add_snippet(session: Session, user_id: str, wanted: SnippetForm, now: datetime) -> TextSnippet:
    count = session.scalar(select(func.count()).select_from(TextSnippet).where(TextSnippet.user_id == user_id)) or 0
    if count >= MAX_SNIPPETS:
        raise FormErrors({"title": N_("You have 30 snippets, the most there can be: delete one first")})
    snippet = TextSnippet(user_id=user_id, title=wanted.title, text=wanted.text, created_at=now, updated_at=now)
    session.add(snippet)
    session.flush()
    return snippet


def _own(session: Session, user_id: str, snippet_id: str) -> TextSnippet:
    snippet = session.get(TextSnippet, snippet_id)
    if snippet is None or snippet.user_id != user_id:
        raise NotFound(N_("This snippet does not exist"))
    return snippet


def change_snippet(session: Session, user_id: str, snippet_id: str, form: dict[str, str], now: datetime) -> None:
    """Someone else's snippet is not found before its form is read: a refusal says nothing about it."""
    snippet = _own(session, user_id, snippet_id)
    wanted = parse_snippet(form)
    snippet.title, snippet.text, snippet.updated_at = wanted.title, wanted.text, now


def delete_snippet(session: Session, user_id: str, snippet_id: str) -> str:
    snippet = _own(session, user_id, snippet_id)
    session.delete(snippet)
    return snippet.title
