"""Matching a consult to the patient profiles of the collaboration agreements.

Agreements are compiled once into a :class:`RoutingTable` (indexed by
specialism) and matched in memory, so a decision against a thousand profiles
stays far below a millisecond. Every profile that does *not* admit a request
says why, per dimension, so the GP can be told exactly what did not fit
(DOMAIN.md: "No match is an explicit outcome, not a silent drop").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from triage_service.errors import N_
from triage_service.models import Agreement, PatientProfile
from triage_service.outcome import Message, message

FORM_LABELS = {"e-consult": N_("e-consult"), "intercollegial-consult": N_("intercollegial consult"),
               "video-consult": N_("video consult"), "ecms": N_("one-off physical consult (ECMS)")}
#: The same with its article, as the subject of a sentence ("an e-consult is not agreed ...").
_FORM_SUBJECTS = {"e-consult": N_("an e-consult"), "intercollegial-consult": N_("an intercollegial consult"),
                  "video-consult": N_("a video consult"), "ecms": N_("a one-off physical consult (ECMS)")}


@dataclass(frozen=True)
class RoutingRequest:
    """What routing needs to know of a consult (a snapshot taken at intake)."""

    specialism: str
    icpc_codes: tuple[str, ...]
    age: int
    sex: str
    postcode: int | None
    insurer: str
    form: str
    photo_count: int
    on: date
    performer_agb: str | None = None
    #: "meekijkconsult" or "referral" (a referral sent for triage).
    category: str = "meekijkconsult"
    #: Who asks: "gp-practice" or "out-of-hours-post" (OrganisationKind), and that organisation's AGB.
    requester_kind: str = "gp-practice"
    requester_agb: str | None = None
    #: The FHIR priority, and the Dutch time of day the request was sent (profiles may admit by either).
    priority: str = "routine"
    sent_at: time | None = None


@dataclass(frozen=True)
class CompiledProfile:
    profile_id: str
    profile_name: str
    agreement_id: str
    agreement_code: str
    specialism: str
    icpc_codes: frozenset[str]
    icpc_chapters: frozenset[str]
    min_age: int | None
    max_age: int | None
    sex: str | None
    postcode_ranges: tuple[tuple[int, int], ...]
    forms: frozenset[str]
    min_photos: int
    insurers: frozenset[str]
    agreement_forms: frozenset[str]
    valid_from: date
    valid_until: date | None
    specialist_agbs: tuple[str, ...]
    group_queue: bool
    subcontractor_agb: str
    subcontractor_name: str
    answer_norms: dict[str, Any] = field(hash=False, compare=False)
    categories: frozenset[str] = frozenset({"meekijkconsult"})
    #: The agreement's referral-flag rules: (name, kind, icpc codes, reason).
    referral_flags: tuple[tuple[str, str, frozenset[str], str], ...] = ()
    requesters: frozenset[str] = frozenset({"gp-practice"})
    #: AGB codes of the out-of-hours posts the agreement admits.
    out_of_hours_posts: frozenset[str] = frozenset()
    #: Empty admits every priority.
    priorities: frozenset[str] = frozenset()
    #: (from, until) in Dutch time; until before from runs past midnight. None admits every hour.
    hours: tuple[time, time] | None = None
    #: The agreement's call-out of urgent consults: {"repeat_minutes", "escalate_after_minutes"}.
    callout: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    #: What the intake needs of the agreement besides the rules, so that it reads no agreement row (issue 25):
    #: the context it requires per consult form, and its referral flags as the file wrote them (with English).
    context_required: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    referral_flag_texts: tuple[dict[str, Any], ...] = field(default=(), hash=False, compare=False)

    def referral_flag(self, name: str) -> dict[str, Any] | None:
        """As ``Agreement.referral_flag``: the flag named ``name`` as the agreement's file gives it."""
        return next((f for f in self.referral_flag_texts if f.get("name") == name), None)


@dataclass(frozen=True)
class Mismatch:
    """One dimension on which a profile does not admit the request."""

    dimension: str  # validity, insurer, form, icpc, age, sex, region, photos, performer
    #: In the reader's language when rendered (outcome.py).
    message: Message


@dataclass
class MatchResult:
    request: RoutingRequest
    matches: list[CompiledProfile]
    #: Every profile of the requested specialism (matches and misses).
    considered: list[CompiledProfile]

    @property
    def near_misses(self) -> list[tuple[CompiledProfile, list[Mismatch]]]:
        """Why each other profile of the specialism does not admit the request. Computed on demand:
        only a refusal or a dry run needs the wording, and formatting it would dominate a decision."""
        matched = {id(p) for p in self.matches}
        return [(p, mismatches(p, self.request)) for p in self.considered if id(p) not in matched]

    def explanation(self, specialism: object) -> list[Message]:
        """Why nothing matched, in words a GP understands: one line per closest profile, naming it,
        so the GP sees each arrangement that almost fits and what it lacks. ``specialism`` is its name (a
        str, or an outcome.Localized for the reader's language)."""
        near_misses = self.near_misses
        if not near_misses:
            return [message(N_("No collaboration agreement covers %(specialism)s."), specialism=specialism)]
        fewest = min(len(reasons) for _, reasons in near_misses)
        return [message(N_("No agreement covers this %(specialism)s request. Closest: '%(profile)s' "
                           "(%(agreement)s): %(reasons)s."), specialism=specialism, profile=profile.profile_name,
                        agreement=profile.agreement_code, reasons=_listed([r.message for r in reasons], "; "))
                for profile, reasons in near_misses if len(reasons) == fewest]


def compile_profiles(agreements: Iterable[Agreement]) -> list[CompiledProfile]:
    compiled = []
    for agreement in agreements:
        for profile in agreement.profiles:
            compiled.append(_compile(agreement, profile))
    return compiled


def _compile(agreement: Agreement, profile: PatientProfile) -> CompiledProfile:
    codes = [str(c) for c in profile.icpc]
    return CompiledProfile(
        profile_id=profile.id, profile_name=profile.name, agreement_id=agreement.id,
        agreement_code=agreement.code, specialism=profile.specialism,
        icpc_codes=frozenset(c for c in codes if len(c) > 1),
        icpc_chapters=frozenset(c for c in codes if len(c) == 1),
        min_age=profile.min_age, max_age=profile.max_age, sex=profile.sex,
        postcode_ranges=tuple((int(lo), int(hi)) for lo, hi in profile.postcode_ranges),
        forms=frozenset(profile.consult_forms), min_photos=profile.min_photos,
        insurers=frozenset(agreement.insurers), agreement_forms=frozenset(agreement.consult_forms),
        valid_from=agreement.valid_from, valid_until=agreement.valid_until,
        specialist_agbs=tuple(agreement.specialist_agbs), group_queue=agreement.group_queue,
        subcontractor_agb=agreement.subcontractor.agb or "", subcontractor_name=agreement.subcontractor.name,
        categories=frozenset(profile.categories),
        referral_flags=tuple((f["name"], f["kind"], frozenset(f["icpc"]), f["reason"])
                             for f in agreement.referral_flags),
        answer_norms=dict(agreement.answer_norms),
        requesters=frozenset(profile.requesters), out_of_hours_posts=frozenset(agreement.out_of_hours_posts),
        priorities=frozenset(profile.priorities), hours=_hours(profile.hours), callout=dict(agreement.callout),
        context_required=dict(agreement.context_required or {}),
        referral_flag_texts=tuple(dict(f) for f in agreement.referral_flags or []),
    )


def _hours(window: dict[str, Any] | None) -> tuple[time, time] | None:
    if not window:
        return None
    until = str(window["until"])
    return time.fromisoformat(str(window["from"])), time.max if until == "24:00" else time.fromisoformat(until)


def in_hours(window: tuple[time, time] | None, moment: time | None) -> bool:
    """``moment`` lies in the daily window (which may run past midnight); no window admits every hour."""
    if window is None or moment is None:
        return True
    start, until = window
    return start <= moment < until if start < until else (moment >= start or moment < until)


def _admits_requester(profile: CompiledProfile, r: RoutingRequest) -> bool:
    if r.requester_kind not in profile.requesters:
        return False
    # A GP practice needs no naming (the zorggroep's practices); an out-of-hours post must be named.
    return r.requester_kind != "out-of-hours-post" or r.requester_agb in profile.out_of_hours_posts


class RoutingTable:
    """All profiles, indexed by specialism and by (specialism, insurer, consult form); immutable once built.

    Insurer and form are exact-match dimensions, so indexing on them leaves only the range and set
    checks (age, ICPC, region, photos...) for the few profiles that can still apply.
    """

    def __init__(self, profiles: Iterable[CompiledProfile]):
        self.by_specialism: dict[str, list[CompiledProfile]] = {}
        self.by_key: dict[tuple[str, str, str], list[CompiledProfile]] = {}
        for profile in profiles:
            self.by_specialism.setdefault(profile.specialism, []).append(profile)
            for insurer in profile.insurers:
                for form in profile.forms & profile.agreement_forms:
                    self.by_key.setdefault((profile.specialism, insurer, form), []).append(profile)

    def __len__(self) -> int:
        return sum(len(v) for v in self.by_specialism.values())

    def match(self, request: RoutingRequest) -> MatchResult:
        candidates = self.by_key.get((request.specialism, request.insurer, request.form), ())
        matches = [p for p in candidates if _admits_rest(p, request)]
        return MatchResult(request, matches, self.by_specialism.get(request.specialism, []))


def admits(profile: CompiledProfile, r: RoutingRequest) -> bool:
    """The same rules as :func:`mismatches`, without building any text (a test keeps them in agreement)."""
    return (r.insurer in profile.insurers and r.form in profile.forms and r.form in profile.agreement_forms
            and _admits_rest(profile, r))


def _admits_rest(profile: CompiledProfile, r: RoutingRequest) -> bool:
    """The hot path, after the index has settled specialism, insurer and form."""
    return (r.category in profile.categories
            and _admits_requester(profile, r)
            and (not profile.priorities or r.priority in profile.priorities)
            and in_hours(profile.hours, r.sent_at)
            and (profile.min_age is None or r.age >= profile.min_age)
            and (profile.max_age is None or r.age <= profile.max_age)
            and r.photo_count >= profile.min_photos
            and (profile.sex is None or r.sex == profile.sex)
            and profile.valid_from <= r.on and (profile.valid_until is None or r.on <= profile.valid_until)
            and (not profile.postcode_ranges or (r.postcode is not None and any(
                lo <= r.postcode <= hi for lo, hi in profile.postcode_ranges)))
            and (r.performer_agb is None or r.performer_agb in profile.specialist_agbs)
            and _icpc_admitted(profile, r.icpc_codes))


def _icpc_admitted(profile: CompiledProfile, codes: tuple[str, ...]) -> bool:
    if not profile.icpc_codes and not profile.icpc_chapters:
        return True
    for code in codes:
        # "S" admits every code of chapter S; "S82" admits S82 and its extensions such as S82.01.
        if code[:1] in profile.icpc_chapters or code in profile.icpc_codes or code.split(".")[0] in profile.icpc_codes:
            return True
    return False


def _listed(parts: list[Message | str], separator: str = ", ") -> Message:
    """The parts joined, each in the reader's language (a Message renders the Messages among its params)."""
    names = [f"p{i}" for i in range(len(parts))]
    return Message(separator.join(f"%({n})s" for n in names), dict(zip(names, parts, strict=True)))


def mismatches(profile: CompiledProfile, request: RoutingRequest) -> list[Mismatch]:
    """Every dimension on which ``profile`` does not admit ``request`` (empty: it matches)."""
    out: list[Mismatch] = []
    if request.category not in profile.categories:
        out.append(Mismatch("category", message(
            N_("these patients are agreed as referrals for triage, not as a meekijkconsult")
            if request.category == "meekijkconsult" else
            N_("these patients are agreed as meekijkconsult, not as referrals for triage"))))
    if not _admits_requester(profile, request):
        out.append(Mismatch("requester", message(
            N_("these patients are agreed for questions from the out-of-hours post")
            if request.requester_kind == "gp-practice" else
            N_("this out-of-hours post is not part of the agreement")
            if "out-of-hours-post" in profile.requesters else
            N_("these patients are agreed for questions from GP practices, not from the out-of-hours post"))))
    if profile.priorities and request.priority not in profile.priorities:
        out.append(Mismatch("priority", message(
            N_("priority %(priority)s is not agreed for these patients (agreed: %(agreed)s)"),
            priority=request.priority, agreed=", ".join(sorted(profile.priorities)))))
    if not in_hours(profile.hours, request.sent_at) and profile.hours is not None:
        start, until = profile.hours
        out.append(Mismatch("hours", message(
            N_("these patients are agreed from %(start)s to %(until)s only"),
            start=f"{start:%H:%M}", until="24:00" if until == time.max else f"{until:%H:%M}")))
    if request.on < profile.valid_from or (profile.valid_until is not None and request.on > profile.valid_until):
        out.append(Mismatch("validity", message(N_("agreement %(agreement)s is not in force on %(day)s"),
                                                agreement=profile.agreement_code, day=request.on.isoformat())))
    if request.insurer not in profile.insurers:
        out.append(Mismatch("insurer", message(N_("insurer UZOVI %(insurer)s is not covered (covered: %(covered)s)"),
                                               insurer=request.insurer, covered=", ".join(sorted(profile.insurers)))))
    if request.form not in profile.forms or request.form not in profile.agreement_forms:
        agreed = [message(FORM_LABELS[f]) if f in FORM_LABELS else f
                  for f in sorted(profile.forms & profile.agreement_forms)]
        subject = message(_FORM_SUBJECTS[request.form]) if request.form in _FORM_SUBJECTS else request.form
        out.append(Mismatch("form", message(N_("%(form)s is not agreed for these patients (agreed: %(agreed)s)"),
                                            form=subject, agreed=_listed(agreed) if agreed else message(N_("none")))))
    if not _icpc_admitted(profile, request.icpc_codes):
        admitted = ", ".join(sorted(profile.icpc_chapters | profile.icpc_codes))
        out.append(Mismatch("icpc", message(N_("ICPC %(codes)s is outside the agreed complaints (%(admitted)s)"),
                                            codes=", ".join(request.icpc_codes), admitted=admitted)))
    if (profile.min_age is not None and request.age < profile.min_age) or (
            profile.max_age is not None and request.age > profile.max_age):
        band = f"{profile.min_age if profile.min_age is not None else 0}-" \
               f"{profile.max_age if profile.max_age is not None else ''}"
        out.append(Mismatch("age", message(N_("age %(age)s is outside the agreed age band %(band)s"),
                                           age=request.age, band=band)))
    if profile.sex is not None and request.sex != profile.sex:
        out.append(Mismatch("sex", message(N_("the profile is for patients of sex %(sex)s only"), sex=profile.sex)))
    if profile.postcode_ranges:
        if request.postcode is None:
            out.append(Mismatch("region", message(N_("the patient's postcode is needed to decide the region"))))
        elif not any(lo <= request.postcode <= hi for lo, hi in profile.postcode_ranges):
            out.append(Mismatch("region", message(N_("the patient lives outside the agreed region"))))
    if request.photo_count < profile.min_photos:
        out.append(Mismatch("photos", message(N_("%(required)s photos are required (%(attached)s attached)"),
                                              required=profile.min_photos, attached=request.photo_count)))
    if request.performer_agb is not None and request.performer_agb not in profile.specialist_agbs:
        out.append(Mismatch("performer", message(N_("the requested specialist does not answer under this agreement"))))
    return out
