"""WSGI entry point for gunicorn: ``gunicorn wsgi:app``."""
from posyandu import create_app

app = create_app()
