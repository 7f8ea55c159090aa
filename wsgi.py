"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi run`."""

from mentor_match import create_app

app = create_app()
