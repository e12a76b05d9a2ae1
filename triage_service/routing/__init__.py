"""Routing: which agreement and patient profile admit a consult, who answers it, and by when."""
