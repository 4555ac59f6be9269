"""The server extension's settings, as traitlets config (``jupyter_server_config.py`` or the command line).

::

    c.JupyterDLMonitor.interval = 0.5        # seconds between samples (default 1, or $JUPYTER_DL_MONITOR_INTERVAL)
    c.JupyterDLMonitor.idle_seconds = 120    # stop sampling this long after the last request (default 60)
"""
from __future__ import annotations

import os

from traitlets import Float, default
from traitlets.config import Configurable

from ..monitor.sampler import DEFAULT_INTERVAL, MIN_INTERVAL

IDLE_SECONDS = 60.0


class JupyterDLMonitor(Configurable):
    """How the Jupyter server samples the machine for the status-bar item and the monitor panel."""

    interval = Float(help="Seconds between samples while a page polls (at least 0.1).").tag(config=True)
    idle_seconds = Float(IDLE_SECONDS, help="Stop sampling this many seconds after the last request "
                                            "(a closed tab).").tag(config=True)

    @default("interval")
    def _interval_from_env(self) -> float:
        # $JUPYTER_DL_MONITOR_INTERVAL still works, for a server started without a config file.
        try:
            return float(os.environ.get("JUPYTER_DL_MONITOR_INTERVAL", DEFAULT_INTERVAL))
        except ValueError:
            return DEFAULT_INTERVAL

    def sampling_interval(self) -> float:
        """The interval to sample at: the setting, never below the sampler's floor."""
        return max(MIN_INTERVAL, self.interval)
