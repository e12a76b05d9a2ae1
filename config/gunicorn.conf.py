"""gunicorn settings for `triage-service serve`. Overridable with TRIAGE_WORKERS."""

import os

# SQLite (the demo database) takes one writer at a time and every request writes its audit row: a second
# worker only waits for the lock (measured: p99 958 ms with two workers, 35 ms with one, same throughput).
# So on SQLite the default is one worker; TRIAGE_WORKERS, when set, always wins (the benchmarks set it).
_sqlite = not os.environ.get("TRIAGE_DATABASE_URL", "").startswith("postgres")
workers = int(os.environ.get("TRIAGE_WORKERS") or ("1" if _sqlite else "2"))
# gunicorn's sync worker, but the requests gunicorn refuses itself (over-long request line, too large or
# invalid headers) are answered with an OperationOutcome and our security headers, not gunicorn's HTML page.
worker_class = "triage_service.http_worker.OutcomeSyncWorker"
timeout = 60
graceful_timeout = 20
# Access logs carry the path only; no query strings (search values) and no bodies.
accesslog = "-"
# The request id (X-Request-ID) ties a line to the error log's traceback of a 500.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms %({x-request-id}o)s'
# Escapes control characters in every logged value, so a crafted path cannot forge log lines.
logger_class = "triage_service.access_log.SafeAccessLogger"
errorlog = "-"
forwarded_allow_ips = os.environ.get("TRIAGE_FORWARDED_ALLOW_IPS", "127.0.0.1")
# gunicorn's control socket (one fixed path per user) is not used; two instances on one host would share it.
control_socket_disable = True


# The audit chain is anchored outside the database while the server runs and once more when it has stopped,
# by a companion process the arbiter starts and stops (triage_service/audit/anchoring.py).
def when_ready(server):
    from triage_service.audit.anchoring import start_companion

    server.triage_audit_anchorer = start_companion()


def on_exit(server):
    from triage_service.audit.anchoring import stop_companion

    stop_companion(getattr(server, "triage_audit_anchorer", None))
