"""WSGI entry point for gunicorn (``gunicorn wsgi:app``): builds the app and nothing else."""

from triage_service import create_app

app = create_app()
