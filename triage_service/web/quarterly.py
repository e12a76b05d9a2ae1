"""The quarterly report for the insurer (issue 22, point 7): a page to choose the quarter, and the report as a
PDF, for the zorggroep's staff.

The figures are reports/quarterly.py's, from the dashboard's own queries; this module puts them into words in
the reader's language (Dutch by default, English on request, like the statement PDF) and
reports/quarterly_pdf.py lays them out. The quarter is typed 2026-Q4 (2026-K4 and Q4 2026 too); a bad one is
refused beside the field (400). Who: the zorggroep's staff only (reports/access.py: 403 for anyone else);
the page and every download are audited (NEN 7513). The report names no patient.
"""

from __future__ import annotations

from typing import Any, NoReturn

from flask import Response, abort, make_response, render_template, request
from flask_babel import format_date, format_datetime, format_decimal, get_locale
from flask_babel import gettext as _

from triage_service.audit.trail import record
from triage_service.database import get_session
from triage_service.models import AuditAction
from triage_service.reports.access import ReportAccess, report_access
from triage_service.reports.periods import local_date
from triage_service.reports.quarterly import KeyFigures, Quarter, QuarterlyReport, quarterly_report
from triage_service.reports.quarterly_pdf import Chart, Document, Grid, Section, quarterly_pdf
from triage_service.reports.verdicts import VerdictFigures
from triage_service.request_context import clock
from triage_service.web import dashboard as reports_page
from triage_service.web.dashboard import NO_VALUE, hours, money, percent, target_label, target_value
from triage_service.web.views import bp

#: The report holds the zorggroep's business figures: no copy in a shared or browser cache.
NOT_KEPT = {"Cache-Control": "no-store"}


def quarter_label(quarter: Quarter) -> str:
    """'4e kwartaal 2026' in Dutch, 'Q4 2026' in English."""
    return str(_("Q%(quarter)d %(year)d", quarter=quarter.quarter, year=quarter.year))


def period_label(quarter: Quarter) -> str:
    return str(_("%(first)s to %(last)s", first=format_date(quarter.first_day, "d MMMM yyyy"),
                 last=format_date(quarter.last_day, "d MMMM yyyy")))


def _error() -> str:
    return str(_("This is not a quarter; write it as yyyy-Qn, e.g. 2026-Q4."))


def _read(typed: str) -> Quarter | None:
    try:
        return Quarter.parse(typed)
    except ValueError:
        return None


def _audit(access: ReportAccess, event: str, quarter: Quarter) -> None:
    record(get_session(), access.actor, event=event, action=AuditAction.READ, resource_type="Report",
           detail=f"quarter={quarter}", at=clock())


def _refuse(status: int, reason: str) -> NoReturn:
    abort(make_response(render_template("error.html", status=status, reason=reason), status))


@bp.get("/dashboard/kwartaalrapportage")
def quarterly_page() -> Any:
    """Choose a quarter (the last full one by default); its key figures and the PDF to download."""
    access = report_access()  # 403 for anyone but the zorggroep's staff
    typed = request.args.get("kwartaal", str(Quarter.of(local_date(clock())).previous))
    quarter = _read(typed)
    if quarter is None:
        return render_template("quarterly.html", typed=typed, error=_error(), report=None), 400
    report = quarterly_report(get_session(), access.zorggroep_id, quarter, clock(), str(get_locale()))
    _audit(access, "web.quarterly.view", quarter)
    return render_template("quarterly.html", typed=str(quarter), error=None, report=report,
                           quarter_label=quarter_label(quarter), period_label=period_label(quarter),
                           saving_text=saving_text)


@bp.get("/dashboard/kwartaalrapportage/pdf")
def quarterly_pdf_file() -> Response:
    access = report_access()
    quarter = _read(request.args.get("kwartaal", ""))
    if quarter is None:
        _refuse(400, _error())
    report = quarterly_report(get_session(), access.zorggroep_id, quarter, clock(), str(get_locale()))
    _audit(access, "web.quarterly.pdf", quarter)
    insurers = reports_page.insurers(get_session(), access.zorggroep_id)
    body = quarterly_pdf(document(report, insurers, str(get_locale())))
    word = _("quarterly-report")  # the file's name in the user's language (kwartaalrapportage)
    name = f"{word}-{quarter}.pdf"
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{name}"', **NOT_KEPT})


# -- the report in words ----------------------------------------------------------------------------------------


def saving_text(label: str, figures: KeyFigures) -> str:
    """The exact one-third statement: whether the saving reaches a third of the avoided cost, decided in cents."""
    if figures.meets_target is None:
        return str(_("%(group)s: no referral was avoided, so there is no saving ratio to hold against the target "
                     "of one third.", group=label))
    if figures.meets_target:
        return str(_("%(group)s: saving ratio %(ratio)s, at or above the target of one third (decided exactly, "
                     "in cents: three times the saving of %(saving)s is at least the avoided cost of %(avoided)s).",
                     group=label, ratio=percent(figures.saving_ratio, 1), saving=money(figures.saving_cents),
                     avoided=money(figures.avoided_cents)))
    return str(_("%(group)s: saving ratio %(ratio)s, below the target of one third (decided exactly, in cents: "
                 "three times the saving of %(saving)s is less than the avoided cost of %(avoided)s).",
                 group=label, ratio=percent(figures.saving_ratio, 1), saving=money(figures.saving_cents),
                 avoided=money(figures.avoided_cents)))


def document(report: QuarterlyReport, insurers: list[tuple[str, str]], language: str) -> Document:
    quarter = report.quarter
    facts = [(str(_("Zorggroep")), report.zorggroep),
             (str(_("Period")), f"{quarter_label(quarter)} ({period_label(quarter)})"),
             (str(_("Made on")), str(format_datetime(report.made_at, "d MMMM yyyy HH:mm"))),
             (str(_("Insured people covered")), str(_("all insured people")))]
    cover = [str(_("The figures cover every consult of the collaboration, whatever the patient's health insurer: "
                   "the service records no insurer per consult, so it cannot give one insurer's share."))]
    if insurers:
        cover.append(str(_("Insurers in the agreements: %(insurers)s.",
                           insurers=", ".join(f"{name} ({code})" for code, name in insurers))))
    if not report.complete:
        cover.append(str(_("The quarter has not ended yet: these figures stand as at %(moment)s and will still "
                           "change.", moment=format_datetime(report.made_at, "d MMMM yyyy HH:mm"))))
    sections = [_key_figures(report), _targets(report), _verdicts(report), _months(report), _definitions()]
    return Document(str(_("Quarterly report meekijkconsult, %(quarter)s", quarter=quarter_label(quarter))),
                    facts, cover, sections, language)


def _groups(report: QuarterlyReport) -> tuple[list[tuple[str, KeyFigures]], tuple[str, KeyFigures] | None]:
    rows = [(f"{g.label} ({g.key})", g) for g in report.agreements]
    return rows, ((str(_("All consults")), report.total) if report.total is not None else None)


def _key_figures(report: QuarterlyReport) -> Section:
    rows, total = _groups(report)
    heading = str(_("Key figures for the quarter"))
    if total is None:
        return Section(heading, [str(_("No consults were submitted in this period."))], [], [], [], new_page=True)
    agreement = str(_("Agreement"))

    def table(caption: str, header: list[str], cells: Any, label_share: float = 0.2) -> Grid:
        # The agreement's name takes about a fifth of the width; the figures share the rest.
        widths = (label_share, *((1 - label_share) / len(header),) * len(header))
        return Grid(caption, [agreement, *header], [[label, *cells(g)] for label, g in rows],
                    [total[0], *cells(total[1])], frozenset(range(1, len(header) + 1)), widths)

    volumes = table(str(_("Volume and answer times")), [
        str(_("Consults")), str(_("Answered")), str(_("Median answer time (hours)")),
        str(_("Answer time, 90th percentile (hours)")), str(_("Open and late")), str(_("Within the norm"))],
        lambda g: [str(g.consults), str(g.completed), hours(g.median_hours), hours(g.p90_hours), str(g.late_open),
                   percent(g.within_norm_share)])
    referrals = table(str(_("Referrals")), [
        str(_("Prevented referrals")), str(_("of which the GP would have referred")),
        str(_("of which returned after triage")), str(_("Share of the intended referrals")),
        str(_("Converted to a referral")), str(_("Conversion rate"))],
        lambda g: [str(g.prevented), str(g.prevented_by_intent), str(g.returned),
                   percent(g.prevented_share_of_intended), str(g.converted), percent(g.conversion_rate)], 0.16)
    case = table(str(_("Business case")), [
        str(_("Consult cost (integral tariff)")), str(_("of which the subcontractor")), str(_("Avoided cost")),
        str(_("of which returned after triage")), str(_("Own costs (structural and incidental)")),
        str(_("Saving")), str(_("Saving ratio (target one third)"))],
        lambda g: [money(g.consult_cost_cents), money(g.subcontractor_share_cents), money(g.avoided_cents),
                   money(g.returned_cents), money(g.own_costs_cents), money(g.saving_cents), _ratio(g)])
    statements = [saving_text(label, figures) for label, figures in [*rows, total]]
    left_out = total[1].completed_without_referral_cost
    if left_out:
        statements.append(str(_("%(count)d answered consults are left out of the business case: their agreement "
                                "names no average referral cost.", count=left_out)))
    return Section(heading, statements, [volumes, referrals, case], [], [], new_page=True)


def _ratio(figures: KeyFigures) -> str:
    if figures.meets_target is None:
        return percent(figures.saving_ratio, 1)
    verdict = _("on target") if figures.meets_target else _("below target")
    return f"{percent(figures.saving_ratio, 1)} ({verdict})"


def _targets(report: QuarterlyReport) -> Section:
    heading = str(_("Targets agreed before the start"))
    if not report.targets:
        return Section(heading, [str(_("No agreement ran in this period."))], [], [], [])
    rows = []
    for agreement in report.targets:
        name = f"{agreement.name} ({agreement.code})"
        if not agreement.any_agreed:  # one line, not five times "not agreed"
            rows.append([name, str(_("No monitoring targets were agreed for this agreement.")), str(_("not agreed")),
                         "", ""])
            continue
        for number, target in enumerate(agreement.targets):
            met = {True: _("met"), False: _("not met"), None: NO_VALUE}[target.met]
            rows.append([name if number == 0 else "", target_label(target.name),
                         str(_("not agreed")) if target.agreed is None else target_value(target.name, target.agreed),
                         target_value(target.name, target.actual), str(met)])
    table = Grid(str(_("Target against actual, per agreement")),
                 [str(_("Agreement")), str(_("Target")), str(_("Agreed")), str(_("Actual")), str(_("Met"))],
                 rows, [], frozenset({2, 3}), (0.28, 0.36, 0.12, 0.12, 0.12))
    return Section(heading, [], [table], [], [str(_(
        "Whether a target is met is decided on the counts, never on a rounded percentage. For the referral rate "
        "lower is better: it is met below the baseline."))], new_page=True)


def _verdicts(report: QuarterlyReport) -> Section:
    """The GPs' verdicts per specialism and what the prevented referrals rest on, as the dashboard shows them."""
    heading = str(_("The GPs' verdicts on the advice"))
    found = report.verdicts
    if not found.rows:
        return Section(heading, [str(_("No consults submitted in this period were answered with advice."))], [], [],
                       [], new_page=True)
    specialism, total = str(_("Specialism")), str(_("All specialisms"))
    given = Grid(str(_("Verdicts per specialism")), [
        specialism, str(_("Answered with advice")), str(_("Verdicts")), str(_("Response rate")),
        str(_("Advice useful")), str(_("Without the advice: referred")), str(_("Without the advice: not referred")),
        str(_("Without the advice: something else")), str(_("Referral still needed"))],
        [[r.label, *_verdict_cells(r)] for r in found.rows], [total, *_verdict_cells(found.total)],
        frozenset(range(1, 9)), (0.2, *(0.1,) * 8))
    basis = Grid(str(_("Prevented referrals: what they rest on")), [
        specialism, str(_("By the GP's intent before")), str(_("By the GP's verdict after")), str(_("By both"))],
        [[r.label, str(r.prevented_by_intent), str(r.prevented_by_verdict), str(r.prevented_by_both)]
         for r in found.rows],
        [total, str(found.total.prevented_by_intent), str(found.total.prevented_by_verdict),
         str(found.total.prevented_by_both)], frozenset({1, 2, 3}), (0.2, 0.2, 0.2, 0.2))
    return Section(heading, [], [given, basis], [], [str(_(
        "After reading the advice the GP answers three questions: was it useful, what would you have done without "
        "it, is a referral still needed. Response rate: verdicts of the consults answered with advice. A referral "
        "counts as prevented by the intent when the GP said before the consult that they would refer and it did not "
        "become a referral; by the verdict when the GP said afterwards that without the advice they would have "
        "referred and that no referral is needed any more; by both when both hold."))], new_page=True)


def _verdict_cells(row: VerdictFigures) -> list[str]:
    return [str(row.answered), str(row.verdicts), percent(row.response_rate), percent(row.useful_share),
            str(row.without_refer), str(row.without_not_refer), str(row.without_other),
            str(row.referral_still_needed)]


def _months(report: QuarterlyReport) -> Section:
    names = [str(format_date(m.month.first_day, "LLLL yyyy")) for m in report.months]
    short = [str(format_date(m.month.first_day, "LLL")) for m in report.months]
    months = report.months
    table = Grid(str(_("Per month")), [
        str(_("Month")), str(_("Consults received")), str(_("Answered")), str(_("Prevented referrals")),
        str(_("Converted to a referral")), str(_("Median answer time (hours)"))],
        [[name, str(m.consults), str(m.answered), str(m.prevented), str(m.converted), hours(m.median_hours)]
         for name, m in zip(names, months, strict=True)], [], frozenset({1, 2, 3, 4, 5}),
        (0.2, 0.16, 0.16, 0.16, 0.16, 0.16))

    def whole(value: float) -> str:
        return str(format_decimal(value, format="#,##0"))

    charts = [
        Chart(str(_("Consults per month")), "bar", short,
              [(str(_("Consults received")), [m.consults for m in months]),
               (str(_("Answered")), [m.answered for m in months])], whole),
        Chart(str(_("Prevented and converted referrals")), "bar", short,
              [(str(_("Prevented referrals")), [m.prevented for m in months]),
               (str(_("Converted to a referral")), [m.converted for m in months])], whole),
        Chart(str(_("Median answer time per month (hours)")), "line", short,
              [(str(_("Median answer time")), [m.median_hours for m in months])],
              lambda v: str(format_decimal(v, format="#,##0.#"))),
    ]
    return Section(str(_("The quarter month by month")), [], [table], charts, [], new_page=True)


def _definitions() -> Section:
    return Section(str(_("How the figures are counted")), [], [], [], [
        str(_("Consults submitted in the period. Answer times run from submission to advice; the norm pauses while "
              "a consult waits for the GP. Within the norm: of the answered consults and the open ones already past "
              "their due time. Prevented: answered without becoming a referral where the GP would otherwise have "
              "referred, or a referral that triage returned with advice. By specialist, a consult counts for "
              "whoever answered it; forwarded and escalated consults are counted apart.")),
        str(_("The cost is the integral tariff of the answered consults; the subcontractor is paid out of it, so "
              "that share is part of the cost, not added to it. Avoided cost: the prevented referrals at the "
              "agreement's average second-line cost. Own costs belong to an agreement: structural costs pro rata "
              "per day (a year of 365 days), incidental costs in the period of the agreement's first day. "
              "Saving: avoided cost less the consult cost and the own costs; the saving ratio is the saving as a "
              "share of the avoided cost.")),
        str(_("These are the same figures as the dashboard shows for the same period.")),
    ])
