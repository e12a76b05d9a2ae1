"""Who is asking, and may they: SMART tokens for GP systems, inbox logins with a second factor and
server-side sessions, the access policy of every request, rate limits and security headers."""
