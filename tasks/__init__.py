"""Celery task functions: thin, named explicitly, taking ids and returning small values."""
