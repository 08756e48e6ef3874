"""Production settings for gunicorn: `gunicorn -c gunicorn.conf.py "blog:create_app()"`."""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT') or '8000'}"
workers = int(os.environ.get("WEB_CONCURRENCY") or multiprocessing.cpu_count() * 2 + 1)
worker_class = "gthread"  # threads keep connections alive; pages are mostly cache hits
threads = int(os.environ.get("GUNICORN_THREADS") or 4)
keepalive = 5
timeout = 30
graceful_timeout = 20
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None  # off unless asked for: it costs throughput
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS") or "127.0.0.1"

if os.environ.get("LOG_FORMAT") == "json":
    from blog.platform.logs import gunicorn_logconfig

    logconfig_dict = gunicorn_logconfig()
