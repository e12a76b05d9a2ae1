"""The "likely referral" flags in the inbox's language.

The Task's note (FHIR, for the GP system) keeps the English sentence routing/referral_flags.describe()
wrote at intake. The inbox instead says it again from the stored flag (kind, rule, reason and the
conversion figure as it was at intake), so a Dutch specialist reads Dutch. The rule's name and reason
are the zorggroep's own words from the agreement and are shown as written; the reason for a
"referral-profile" flag is ours and is translated.
"""

from __future__ import annotations

from flask_babel import gettext, ngettext

from triage_service.models import ReferralFlag


def flag_text(flag: ReferralFlag) -> str:
    if flag.kind == "referral-profile":
        reason = gettext("no meekijkconsult profile admits this patient, but the referral profile "
                         "\"%(profile)s\" does: the specialist will probably advise a referral", profile=flag.rule)
    else:
        reason = flag.reason
    if flag.similar_total:
        figure = ngettext("%(converted)d of %(num)d similar consult became a referral.",
                          "%(converted)d of %(num)d similar consults became a referral.", flag.similar_total,
                          converted=flag.similar_converted)
    else:
        figure = gettext("No similar consults have been completed yet.")
    return str(gettext("Likely referral (%(rule)s): %(reason)s.", rule=flag.rule, reason=reason.rstrip("."))
               + " " + figure)
