"""Clinic domain core: models, services, events and settings.

Nothing here imports Flask or Celery, so every rule can be used from the web app, the
Celery tasks and the command line alike.
"""
