"""gunicorn settings: ``gunicorn --config python:web.gunicorn_conf 'web:create_app()'``.

The gevent worker holds each WebSocket as a greenlet, not a thread: one worker process keeps
a thousand sockets open, where a threaded worker silently stops completing handshakes once
its threads are taken. Command-line options (``--bind``, ``--workers``) override these.
"""

import os

bind = os.environ.get("CLINIC_WEB_BIND", "127.0.0.1:5000")
# One worker by default: events reach every worker through Redis, so more only add CPU.
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
worker_class = "gevent"
worker_connections = int(os.environ.get("CLINIC_WEB_CONNECTIONS", "1000"))
# The gevent worker answers the arbiter from its own loop: long-lived sockets do not count
# against this; a request blocking the loop for this long gets its worker restarted.
timeout = 30
# Open WebSockets keep a worker busy until they close; clients reconnect and resume.
graceful_timeout = 10
keepalive = 5
accesslog = "-"
errorlog = "-"
loglevel = "info"
# Trust X-Forwarded-* only from a proxy we were told about.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "clinic-web"
