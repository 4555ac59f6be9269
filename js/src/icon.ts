/** The panel's sidebar icon: a screen with a pulse line, themed by JupyterLab's icon classes. */
import { LabIcon } from '@jupyterlab/ui-components';

const svgstr = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24" fill="none">
  <rect class="jp-icon3" stroke="#616161" stroke-width="2" x="3" y="4" width="18" height="16" rx="2"/>
  <polyline class="jp-icon3" stroke="#616161" stroke-width="2" stroke-linejoin="round" stroke-linecap="round" points="6,13 9,13 11,8.5 13.5,16.5 15.5,11.5 18,11.5"/>
</svg>`;

export const monitorIcon = new LabIcon({ name: 'jupyter_dl:monitor', svgstr });
