"""Migration 0039 turns the Tasks of unauthorised conversions into proposals and leaves authorised ones and
other statuses as they were."""

from __future__ import annotations

from sqlalchemy import create_engine, text

from triage_service.migrate import upgrade_database


def test_unauthorised_conversions_become_proposals_and_authorised_ones_stay_converted(tmp_path: object) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/existing.sqlite3")
    upgrade_database(engine, "0038")
    now = "2026-11-20 09:00:00"
    rows = [("c1", True, "converted-to-referral"), ("c2", False, "converted-to-referral"),
            ("c3", None, "converted-to-referral"), ("c4", False, "advice-given")]
    with engine.begin() as conn:
        for cid, authorised, business in rows:
            conn.execute(text(
                "INSERT INTO consults (id, organisation_id, status, category, consult_form, specialism, priority, "
                "authored_at, icpc_codes, primary_icpc, patient_birth_date, patient_gender, insurer_uzovi, "
                "requester_agb, photo_count, version_id, resource, created_at, updated_at, conversion_authorised) "
                "VALUES (:id, 'o1', 'completed', 'meekijkconsult', 'e-consult', '0310', 'routine', :now, '[\"S82\"]', "
                "'S82', '1968-04-12', 'female', '3311', '01012345', 0, 1, '{}', :now, :now, :authorised)"),
                {"id": cid, "now": now, "authorised": authorised})
            conn.execute(text(
                "INSERT INTO consult_tasks (id, consult_id, organisation_id, status, business_status, version_id, "
                "created_at, updated_at, likely_referral, urgent) VALUES (:tid, :id, 'o1', 'COMPLETED', :business, "
                "1, :now, :now, 0, 0)"), {"tid": f"t-{cid}", "id": cid, "business": business, "now": now})

    upgrade_database(engine)

    with engine.connect() as conn:
        statuses = dict(conn.execute(text("SELECT consult_id, business_status FROM consult_tasks")).all())
    assert statuses == {"c1": "converted-to-referral", "c2": "referral-proposed", "c3": "referral-proposed",
                        "c4": "advice-given"}
