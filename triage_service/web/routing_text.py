"""The routing explanation in the inbox's language.

Routing stores its reason in English, as it goes into the audit trail and the decision record
(routing/assignment.py, routing/deadlines.py, consults/forwarding.py). The sentences are built from
a handful of fixed patterns, so the inbox recognises each pattern and says it again in the
user's language, keeping names, codes, numbers and a forwarding specialist's own words as they
are. An unrecognised text is shown unchanged rather than guessed at.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask_babel import gettext, ngettext

_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _least_work(m: re.Match[str]) -> str:
    count, available = int(m["count"]), int(m["available"])
    urgent = m["what"].startswith("urgent")
    text = gettext("Profile \"%(profile)s\" of agreement %(code)s admits the request.", profile=m["profile"],
                   code=m["code"]) + " "
    if urgent:
        text += ngettext("Assigned to %(name)s: %(num)d urgent open consult, ",
                         "Assigned to %(name)s: %(num)d urgent open consults, ", count, name=m["name"])
    else:
        text += ngettext("Assigned to %(name)s: %(num)d open consult, ",
                         "Assigned to %(name)s: %(num)d open consults, ", count, name=m["name"])
    text += ngettext("the fewest among %(num)d available candidate.",
                     "the fewest among %(num)d available candidates.", available)
    if m["absent"]:
        text += " " + ngettext("%(num)d absent, not considered.", "%(num)d absent, not considered.",
                               int(m["absent"]))
    if m["prefix"]:
        text = gettext("The requested specialist is not available.") + " " + text
    return str(text)


_RULES: list[_Rule] = [
    (re.compile(r"^Assigned to (?P<name>.+) as the GP asked; the agreement (?P<code>\S+) covers the request\.$"),
     lambda m: gettext("Assigned to %(name)s as the GP asked; agreement %(code)s covers the request.",
                       name=m["name"], code=m["code"])),
    (re.compile(r"^All specialists of agreement (?P<code>\S+) are absent; queued for (?P<group>.+) to pick up\.$"),
     lambda m: gettext("All specialists of agreement %(code)s are absent; the consult waits in the queue of "
                       "%(group)s.", code=m["code"], group=m["group"])),
    (re.compile(r"^(?P<prefix>The requested specialist is not available; )?Profile '(?P<profile>.+)' of agreement "
                r"(?P<code>\S+) admits the request\. Assigned to (?P<name>.+): (?P<count>\d+) (?P<what>urgent open "
                r"consults|open consults), the fewest among (?P<available>\d+) available candidate\(s\)"
                r"(?: \((?P<absent>\d+) absent, not considered\))?\.$"), _least_work),
    (re.compile(r"^Past its due time with (?P<owner>.+); escalated to (?P<target>.+) \((?P<count>\d+) open "
                r"consults\)\.$"),
     lambda m: gettext("Past its due time with %(owner)s; handed to %(target)s (%(count)s open consults).",
                       owner=m["owner"], target=m["target"], count=m["count"])),
    # A routine consult moved to the agreement's backup organisation (routing/overflow.py).
    (re.compile(r"^Overflowed to (?P<target>.+) of (?P<org>.+) \(backup of agreement (?P<code>\S+)\): none of the "
                r"agreement's own specialists is available\.$"),
     lambda m: gettext("Handed to %(target)s of %(org)s, the backup of agreement %(code)s: none of the agreement's "
                       "own specialists is available.", target=m["target"], org=m["org"], code=m["code"])),
    (re.compile(r"^Overflowed to (?P<target>.+) of (?P<org>.+) \(backup of agreement (?P<code>\S+)\): "
                r"(?P<share>\d+)% of the answer norm passed and nobody took the consult from (?P<owner>.+)\.$"),
     lambda m: gettext("Handed to %(target)s of %(org)s, the backup of agreement %(code)s: %(share)s%% of the "
                       "answer norm passed and nobody took the consult from %(owner)s.", target=m["target"],
                       org=m["org"], code=m["code"], share=m["share"], owner=m["owner"])),
    # An urgent consult with a clock-time norm (routing/service.py, consults/callouts.py).
    (re.compile(r"^Outside office hours; (?P<duty>.+) is on call now, (?P<backup>.+) is the backup \(rota of "
                r"(?P<org>.+), agreement (?P<code>\S+)\)\.$"),
     lambda m: gettext("Outside office hours; %(duty)s is on call now, %(backup)s is the backup (rota of %(org)s, "
                       "agreement %(code)s).", duty=m["duty"], backup=m["backup"], org=m["org"], code=m["code"])),
    (re.compile(r"^Outside office hours; (?P<duty>.+) is on call but absent, so the backup (?P<backup>.+) takes it "
                r"\(rota of (?P<org>.+)\)\.$"),
     lambda m: gettext("Outside office hours; %(duty)s is on call but absent, so the backup %(backup)s takes it "
                       "(rota of %(org)s).", duty=m["duty"], backup=m["backup"], org=m["org"])),
    (re.compile(r"^Not taken within (?P<minutes>\d+) minutes by (?P<owner>.+); called out to (?P<target>.+)\.$"),
     lambda m: gettext("Not taken within %(minutes)s minutes by %(owner)s; now called out: %(target)s.",
                       minutes=m["minutes"], owner=m["owner"], target=m["target"])),
]
#: Added to a reason when an urgent consult found no rota outside office hours.
_NO_ROTA = " No on-call rota covers this moment."
_FORWARDED = re.compile(r"^Forwarded by (?P<by>.+?) \(was (?P<was>.+?)\)(?P<specialism> to another specialism)?: "
                        r"(?P<rest>.*)$", re.DOTALL)


def routing_text(reason: str | None) -> str:
    if not reason:
        return ""
    forwarded = _FORWARDED.match(reason)
    if forwarded:
        # The forwarding specialist's own words follow; for another specialism, then the new routing.
        head = gettext("Forwarded to another specialism by %(by)s (was %(was)s):", by=forwarded["by"],
                       was=forwarded["was"]) if forwarded["specialism"] else \
            gettext("Forwarded by %(by)s (was %(was)s):", by=forwarded["by"], was=forwarded["was"])
        return f"{head} {_translate_tail(forwarded['rest'])}"
    return _translate_sentence(reason)


def _translate_sentence(text: str) -> str:
    if text.endswith(_NO_ROTA):
        # Outside the f-string: babel finds no message inside one.
        no_rota = gettext("No on-call rota covers this moment.")
        return f"{_translate_sentence(text.removesuffix(_NO_ROTA))} {no_rota}"
    for pattern, say in _RULES:
        match = pattern.match(text)
        if match:
            return say(match)
    return text


def _translate_tail(rest: str) -> str:
    """``<own words>. <routing sentence>`` (another specialism) or just ``<own words>`` (a colleague)."""
    for pattern, say in _RULES:
        unanchored = re.compile(pattern.pattern.removeprefix("^"))
        match = unanchored.search(rest)
        if match and match.end() == len(rest):
            own = rest[:match.start()].rstrip().removesuffix(".")
            return f"{own}. {say(match)}" if own else say(match)
    return rest
