"""REST endpoint: GET {base_url}jupyter-dl/monitor?history=SECONDS -> current sample + history."""
from __future__ import annotations

import asyncio
import json
import time

import tornado.web
from jupyter_server.base.handlers import APIHandler

from .service import FIRST_SAMPLE_TIMEOUT, MAX_HISTORY_SECONDS, MonitorService

DEFAULT_HISTORY_SECONDS = 120.0


class MonitorHandler(APIHandler):
    """GET: the monitor's current sample and ``history`` seconds of samples, as JSON."""

    def initialize(self, service: MonitorService):
        """Tornado's per-request setup: the server's MonitorService."""
        self.service = service

    @tornado.web.authenticated
    async def get(self):
        """Start sampling if needed, then the payload; 503 when none comes within 5 s, 400 for a bad history."""
        history = self._history_seconds()
        self.service.touch()
        payload = self.service.payload(history)
        deadline = time.monotonic() + FIRST_SAMPLE_TIMEOUT
        while payload is None and time.monotonic() < deadline:  # the sampler thread's first reading
            await asyncio.sleep(0.05)
            payload = self.service.payload(history)
        if payload is None:
            raise tornado.web.HTTPError(503, "the monitor has no sample yet; try again in a second")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(payload))

    def _history_seconds(self) -> float:
        raw = self.get_query_argument("history", str(DEFAULT_HISTORY_SECONDS))
        try:
            seconds = float(raw)
        except ValueError:
            raise tornado.web.HTTPError(400, f"history must be a number of seconds, not {raw!r}") from None
        if not 0 <= seconds <= MAX_HISTORY_SECONDS:
            raise tornado.web.HTTPError(400, f"history must be between 0 and {MAX_HISTORY_SECONDS:g} seconds")
        return seconds
