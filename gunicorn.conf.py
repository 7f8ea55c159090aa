"""Gunicorn's settings for the site: `gunicorn -c gunicorn.conf.py wsgi:app` (the Procfile's web).

Read from the environment:
  BIND              where to listen, e.g. 0.0.0.0:8000 or unix:/run/mentor-match.sock; else
  HOST and PORT     HOST (default 127.0.0.1: behind a proxy on this machine) and PORT (8000)
  WEB_CONCURRENCY   worker processes (default two per core, plus one)
  WEB_TIMEOUT       seconds a request may take before its worker is restarted (default 30)
  WEB_MAX_REQUESTS  recycle each worker after about this many requests (default 0: never)
  GUNICORN_ACCESS_LOG  gunicorn's own access log as well ("-": standard output); the site
                    writes one JSON line per request itself
"""

import os


def _cores() -> int:
    """The cores this process may use (a container's share, not the whole machine's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


bind = os.environ.get("BIND") or (
    f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"
)
# Sync workers: a request only reads and writes the database; rounds and mail run on the job
# workers. Gunicorn's usual rule, two per core plus one, keeps the cores busy while some wait.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * _cores() + 1)
timeout = int(os.environ.get("WEB_TIMEOUT") or 30)
# On SIGTERM (a deploy, Ctrl-C under `make serve`) requests under way get this long to finish.
graceful_timeout = 10
# Behind a proxy that keeps connections open: longer than its idle time would be wasted.
keepalive = 5
# Workers are not recycled unless WEB_MAX_REQUESTS asks (a stop-gap for a leak): each restart
# loads the app again, and at 2,000 requests per worker the load benchmark's dashboards
# answered 159 req/s with a p95 of 871 ms, against 262 req/s and 238 ms without.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS") or 0)
max_requests_jitter = max_requests // 10
# Workers' heartbeat files in memory: a container's disk can stall them into a timeout.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None

# The site writes the access log itself: one JSON line per request with its route, status,
# duration, person and request id (mentor_match/logs.py), which gunicorn cannot know. Its own
# line would say the same request twice; GUNICORN_ACCESS_LOG=- turns it on as well (the usual
# combined format, the request id and the milliseconds taken).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
access_log_format = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms %({x-request-id}o)s'
)
proc_name = "mentor-match"

# Forwarded headers (X-Forwarded-For, -Proto) are trusted by the site itself, for as many
# proxies as PROXY_HOPS says (werkzeug's ProxyFix in create_app); gunicorn trusts none, so
# a client cannot claim https by sending the header to a site that has no proxy.
forwarded_allow_ips = ""
