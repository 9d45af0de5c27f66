"""WSGI entry point: `gunicorn wsgi:application` (see gunicorn.conf.py)."""

from app import create_app

application = create_app()
