"""Gunicorn settings for Mizan: threaded workers with timeouts, so slow clients cannot starve the server.

Run: ``gunicorn -c deploy/gunicorn.conf.py`` (behind deploy/nginx.conf). Environment: ``MIZAN_BIND``
(default 127.0.0.1:8000: only the proxy talks to gunicorn), ``WEB_CONCURRENCY`` (processes),
``MIZAN_THREADS`` (threads per process). Command-line options override these values.
"""
import multiprocessing
import os

wsgi_app = "core:create_app()"
bind = os.environ.get("MIZAN_BIND", "127.0.0.1:8000")

# A sync worker serves one connection at a time: a handful of clients sending their request
# slowly (or never finishing it) occupies every worker. gthread workers wait for request data
# in a poller and give each request its own thread, so a slow client holds one thread at most.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8)))
threads = int(os.environ.get("MIZAN_THREADS", "32"))
worker_connections = 1000  # open connections per process, kept-alive ones included

timeout = 30  # a worker silent this long (a stuck request) is restarted
graceful_timeout = 30  # on reload or stop, requests in flight get this long to finish
keepalive = 5  # seconds an idle kept-alive connection stays open

# Requests larger than this are refused (400) before the app sees them; webhook bodies are
# limited by the app and by client_max_body_size in nginx.
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

# Behind the proxy: trust its X-Forwarded-* headers only from loopback.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")

max_requests = 2000  # recycle processes now and then (bounded memory growth)
max_requests_jitter = 200
accesslog = "-"
