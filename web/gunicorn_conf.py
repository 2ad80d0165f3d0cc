"""gunicorn settings: ``gunicorn --config web/gunicorn_conf.py 'web:create_app()'``.

The gevent worker holds each WebSocket as a greenlet, not a thread: one worker process keeps
a thousand sockets open, where a threaded worker silently stops completing handshakes once
its threads are taken. Command-line options (``--bind``, ``--workers``) override these.
"""

import os

bind = "127.0.0.1:5000"
# One process by default: a gevent worker already serves many connections at once. More
# processes add CPU; each gets the events through its own Redis subscription.
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
# X-Forwarded-* are trusted only from FORWARDED_ALLOW_IPS (gunicorn's own variable, loopback by
# default); the application's CLINIC_PROXY_COUNT decides how many hops it believes.
proc_name = "clinic-web"
# gunicorn's control socket would sit in $HOME, shared by every instance; nothing uses it.
control_socket_disable = True
