"""The NEN 7513 audit trail: recording every access, the keyed hash chain over the entries, its anchors
outside the database, and the questions of the information-security officer."""
