"""The demo's credentials. They are published (README, ``scripts/demo``), so they are no secret anywhere:
the demo loads them outside production only, and production refuses every login that uses one of them
(security/web_auth.py), even for an account that a copied database or an old release left behind.
"""

from __future__ import annotations

DEMO_PASSWORD = "demo-wachtwoord-2026"  # noqa: S105 - a published demo credential, never production
#: Demo specialists: (username, name, practitioner AGB, TOTP secret). The TOTP secrets are fixed so a
#: newcomer can add them to an authenticator app.
DEMO_USERS = [("dermatoloog", "dr. L. Visser", "03100001", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"),
              ("cardioloog", "dr. P. Mulder", "03200001", "KRSXG5DSNFXGOIDUMVZXIZLSMFWWKIDB"),
              # Visser's colleague: a consult without a requested specialist may go to either of them.
              ("dermatoloog2", "dr. K. Smit", "03100002", "MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U"),
              # Mulder's colleague: on call on the other days of the rota, and the backup on Mulder's.
              ("cardioloog2", "dr. E. Kok", "03200002", "GYO5276NTENTUFTSJTWGJYZDPRZPNR7E"),
              # First-line specialists (issue 23), each of their own first-line practice (config/agreements/).
              ("kaderhuisarts", "dr. H. Kuipers", "01100001", "4J5THT4YCVBG5TWGQLC6MYO4QJCKAGCV"),
              ("optometrist", "J. Hendriks", "08030010", "PHV7ABCZ26ATLETSCCBTYH6ECPKAB77N"),
              ("fysiotherapeut", "M. Verbeek", "04060010", "L7NI64LUDLDNWHZLVMYC34LK57B2WEEE"),
              # The backup of the dermatology agreement (achtervang): a dermatologist of another hospital.
              ("dermatoloog-maasstad", "dr. M. de Wit", "03100031", "MDJXX3VMC3EGFCKVRZP6S4HMGVUS5PVO"),
              # The wound-care team (issue 23, config/agreements/wondzorg.yaml) with dr. Visser: a nurse specialist
              # wound care of the home-care organisation and a kaderhuisarts of a health centre.
              ("wondverpleegkundige", "J. Bakker", "90000401", "5UOK5FEQU7SSIM527PQXXQOZS4X352KP"),
              ("kaderhuisarts-wondzorg", "dr. H. Kramer", "01000402", "226C5U4L2Q4GOMT2V3IFWG65IK2Y3KYY")]
#: The zorggroep's staff member: (username, name, zorggroep AGB, TOTP secret); lands on the reports dashboard.
DEMO_STAFF = ("zorggroep", "M. de Boer (zorggroep)", "07300001", "4IZ7UF7N7AVFVZCWVHDRLIZCKPB3MYJ5")
#: The rota maker of Ziekenhuis Rivierenland: (username, name, organisation AGB, TOTP secret); keeps the on-call
#: rota and lands on it.
DEMO_ROTA_MAKER = ("roostermaker", "J. de Vries (roostermaker)", "06010001", "6HOVDWKLKRVBUN34PUZCUIKKSCIKSSID")

#: Demo GPs and practice staff (the portal): (username, name, GP's AGB or None, practice AGB, TOTP secret).
#: At least one GP per demo practice, and an assistant of De Linde who prepares but may not send.
DEMO_PRACTICE_USERS = [("huisarts", "dr. A. Jansen", "01012345", "03012345", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"),
                       ("huisarts-anker", "dr. S. Bakker", "01034567", "03067890", "MZXW6YTBOJUWU23MNU2HI4LSN5XW6YLE"),
                       ("assistent", "J. Smits (assistent De Linde)", None, "03012345",
                        "ONSWG4TFORZWC3DFMVZXIZLSMF2GS33O"),
                       # A GP on a shift of the out-of-hours post: urgent questions about other practices' patients.
                       ("huisarts-hap", "dr. R. Hoekstra", "01045678", "04010001",
                        "6CLWJQJ3DKI7DPQJQW5YAAS74UFFZDPL")]

DEMO_USERNAMES = frozenset([*(user[0] for user in [*DEMO_USERS, DEMO_STAFF, DEMO_ROTA_MAKER]),
                            *(user[0] for user in DEMO_PRACTICE_USERS)])
DEMO_TOTP_SECRETS = frozenset([*(user[3] for user in [*DEMO_USERS, DEMO_STAFF, DEMO_ROTA_MAKER]),
                               *(user[4] for user in DEMO_PRACTICE_USERS)])


def uses_published_credentials(username: str, password: str | None = None, totp_secret: str | None = None) -> bool:
    """Whether a login is a demo account's or uses a published password or TOTP secret."""
    return (username in DEMO_USERNAMES or (password is not None and password == DEMO_PASSWORD)
            or (totp_secret is not None and totp_secret.upper() in DEMO_TOTP_SECRETS))
