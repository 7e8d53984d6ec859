"""gunicorn settings for Resolver: ``gunicorn -c deploy/gunicorn.conf.py wsgi:app``.

Each worker process opens its own database pool after the fork (Flask-SQLAlchemy creates engines
lazily), so nothing is shared across processes. Run the deadline/mail worker separately
(``resolver worker``), as many as you like: they share the work through row claims.
"""
import multiprocessing
import os

bind = os.environ.get("RESOLVER_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("RESOLVER_WEB_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("RESOLVER_WEB_THREADS", 2))
timeout = 60
graceful_timeout = 30
# Uploads of evidence can be large; let the proxy in front buffer slow clients.
limit_request_line = 8190
accesslog = None  # Resolver logs one structured line per request itself
errorlog = "-"


def post_fork(server, worker):
    from resolver.observability import configure_logging

    configure_logging(os.environ.get("RESOLVER_LOG_LEVEL", "INFO"), os.environ.get("RESOLVER_LOG_FORMAT", "json"))
