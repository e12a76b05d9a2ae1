"""``python -m triage_service.cli``: how the service starts its own companions (the worker beside ``demo``)."""

from triage_service.cli import main

main()
