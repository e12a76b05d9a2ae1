"""A consult from request to advice: validation and intake, the Task's life cycle, the specialist's work
(advice, referral triage, forwarding, appointments) and the GP's side of the thread."""
