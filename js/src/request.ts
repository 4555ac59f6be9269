/** The request to the server extension's endpoint, through JupyterLab's ServerConnection (token, XSRF, base URL). */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { IMonitorResponse } from './types';

/** The endpoint, relative to the server's base URL. */
export const MONITOR_PATH = 'jupyter-dl/monitor';

/**
 * `GET {baseUrl}jupyter-dl/monitor?history=<seconds>`. Rejects with
 * ServerConnection.NetworkError when the server cannot be reached and with a
 * ServerConnection.ResponseError on an error status (404: the server extension
 * is not enabled; 403: not authenticated).
 */
export async function fetchMonitor(
  historySeconds: number,
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<IMonitorResponse> {
  const url =
    URLExt.join(settings.baseUrl, MONITOR_PATH) +
    URLExt.objectToQueryString({ history: String(historySeconds) });
  const response = await ServerConnection.makeRequest(
    url,
    { method: 'GET' },
    settings
  );
  if (!response.ok) {
    throw await ServerConnection.ResponseError.create(response);
  }
  return (await response.json()) as IMonitorResponse;
}
