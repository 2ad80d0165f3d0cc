"""The Celery application, its configuration, queues, routes and beat schedule."""
