/**
 * jupyter_dl's JupyterLab extension: a status-bar item with the GPU (or CPU and
 * RAM) numbers, and a side panel with live charts. Both read the jupyter_dl
 * server extension's endpoint, which samples in the server process, so they keep
 * updating while a kernel is busy.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IStatusBar } from '@jupyterlab/statusbar';

import { monitorIcon } from './icon';
import { MonitorModel } from './model';
import { MonitorPanel } from './panel';
import { fetchMonitor } from './request';
import { MonitorStatusItem } from './statusitem';

export namespace CommandIDs {
  export const openMonitor = 'jupyter-dl:open-monitor';
}

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyter_dl:monitor',
  description:
    'GPU/CPU status-bar item and monitor panel, fed by the jupyter_dl server extension.',
  autoStart: true,
  optional: [IStatusBar, ICommandPalette],
  activate: (
    app: JupyterFrontEnd,
    statusBar: IStatusBar | null,
    palette: ICommandPalette | null
  ) => {
    const model = new MonitorModel({
      fetch: seconds => fetchMonitor(seconds, app.serviceManager.serverSettings)
    });
    const panel = new MonitorPanel(model);
    panel.title.icon = monitorIcon;
    app.shell.add(panel, 'right', { rank: 900 });

    app.commands.addCommand(CommandIDs.openMonitor, {
      label: 'Open GPU Monitor',
      caption: 'Live GPU, CPU and RAM charts',
      icon: monitorIcon,
      execute: () => app.shell.activateById(panel.id)
    });
    palette?.addItem({
      command: CommandIDs.openMonitor,
      category: 'jupyter_dl'
    });

    if (statusBar) {
      const item = new MonitorStatusItem(model, () => {
        void app.commands.execute(CommandIDs.openMonitor);
      });
      statusBar.registerStatusItem('jupyter_dl:monitor-status', {
        item,
        align: 'left',
        rank: 100
      });
      void model.start();
    }
  }
};

export default plugin;
