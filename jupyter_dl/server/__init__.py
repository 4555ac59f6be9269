"""jupyter_server extension: the monitor's REST endpoint, fed by a sampler in the server process.

Enabled on install by jupyter-config/server-config/jupyter_dl.json (copied to
etc/jupyter/jupyter_server_config.d/). The JupyterLab status-bar item in js/ polls it.
"""
from __future__ import annotations

from jupyter_server.utils import url_path_join

from .handlers import MonitorHandler
from .service import MonitorService

ROUTE = ("jupyter-dl", "monitor")


def _load_jupyter_server_extension(serverapp) -> None:
    service = MonitorService()
    web_app = serverapp.web_app
    route = url_path_join(web_app.settings["base_url"], *ROUTE)
    web_app.add_handlers(".*$", [(route, MonitorHandler, {"service": service})])
    web_app.settings["jupyter_dl_monitor"] = service
    serverapp.log.info("jupyter_dl: GPU/system monitor at %s", route)
