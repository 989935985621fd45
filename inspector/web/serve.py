"""``inspector review serve``: run the review app under uvicorn (localhost by default)."""

from __future__ import annotations

import ipaddress
import logging
import re
from pathlib import Path

import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from inspector.web.app import WebSettings, create_app

log = logging.getLogger(__name__)

_TOKEN_IN_URL = re.compile(r"(?<=[?&]token=)[^&\s\"]*")


class RedactTokens(logging.Filter):
    """Keeps ``?token=...`` links out of the access log (the journal)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_TOKEN_IN_URL.sub("***", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(factory: sessionmaker[Session], token: str, host: str, port: int,
          export_dir: Path | None, types_file: Path | None) -> int:
    """Serve until interrupted; returns the exit code."""
    if not is_loopback(host):
        log.warning("serving on %s: plain HTTP beyond this machine; put TLS in front of it", host)
    if export_dir is None:
        log.warning("no --export-dir: the page's export button is off")
    app = create_app(WebSettings(factory, token, export_dir, types_file))
    config = uvicorn.Config(app, host=host, port=port, log_level="info", server_header=False,
                            proxy_headers=False)        # configures uvicorn's loggers
    logging.getLogger("uvicorn.access").addFilter(RedactTokens())
    log.info("review page on http://%s:%d/ (export to %s)", host, port, export_dir)
    uvicorn.Server(config).run()
    return 0
