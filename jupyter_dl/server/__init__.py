"""jupyter_server extension: the monitor's REST endpoint, fed by a sampler in the server process.

Enabled on install by jupyter-config/server-config/jupyter_dl.json (copied to
etc/jupyter/jupyter_server_config.d/). The JupyterLab status-bar item in js/ polls it.
One role per module:

- :mod:`.handlers`: ``GET {base_url}jupyter-dl/monitor?history=SECONDS``;
- :mod:`.service`: samples while a page polls, stops when none does;
- :mod:`.config`: the settings (``c.JupyterDLMonitor.interval``, ``.idle_seconds``).

Here only the entry point jupyter_server calls; it imports the rest when the server loads it.
"""
from __future__ import annotations

from typing import Any

ROUTE = ("jupyter-dl", "monitor")


def _load_jupyter_server_extension(serverapp: Any) -> None:
    from jupyter_server.utils import url_path_join

    from .config import JupyterDLMonitor
    from .handlers import MonitorHandler
    from .service import MonitorService

    config = JupyterDLMonitor(parent=serverapp)
    service = MonitorService(interval=config.sampling_interval(), idle_seconds=config.idle_seconds)
    web_app = serverapp.web_app
    route = url_path_join(web_app.settings["base_url"], *ROUTE)
    web_app.add_handlers(".*$", [(route, MonitorHandler, {"service": service})])
    web_app.settings["jupyter_dl_monitor"] = service
    serverapp.log.info("jupyter_dl: GPU/system monitor at %s", route)
