/** The status-bar item: one line of numbers that updates every poll; a click opens the panel. */
import { Widget } from '@lumino/widgets';

import { statusText, statusTooltip } from './format';
import { MonitorModel } from './model';

export class MonitorStatusItem extends Widget {
  constructor(model: MonitorModel, onClick: () => void) {
    super();
    this._model = model;
    this.addClass('jp-dl-MonitorStatus');
    this.addClass('jp-mod-highlighted'); // JupyterLab's hover style for clickable items
    this._text = document.createElement('span');
    this._text.className = 'jp-StatusBar-TextItem';
    this.node.appendChild(this._text);
    this.node.addEventListener('click', onClick);
    model.changed.connect(this._update, this);
    this._update();
  }

  private _update(): void {
    const { status, current, error } = this._model;
    this.toggleClass('jp-mod-muted', status !== 'ok');
    if (status === 'unavailable') {
      this._text.textContent = 'GPU monitor unavailable';
      this.node.title =
        `The jupyter_dl monitor endpoint did not answer (${error}); retrying less and less often. ` +
        'Is the server extension enabled? (jupyter server extension list)';
    } else if (status === 'loading' || current === null) {
      this._text.textContent = 'GPU monitor\u2026';
      this.node.title = 'Waiting for the first sample from the server.';
    } else {
      this._text.textContent = statusText(current);
      this.node.title = statusTooltip(current);
    }
  }

  private _model: MonitorModel;
  private _text: HTMLSpanElement;
}
