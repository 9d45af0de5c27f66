"""gunicorn settings; every value can be overridden by GUNICORN_CMD_ARGS."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8080')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# The worker heartbeat file must live on a writable file system: the images run
# with a read-only root and a tmpfs at /tmp.
worker_tmp_dir = "/tmp"
accesslog = "-"
errorlog = "-"
graceful_timeout = 10
# gunicorn >= 25 opens a control socket under $HOME/.gunicorn for `gunicornc`;
# nothing here uses it, and $HOME is not writable on a read-only root.
control_socket_disable = True
