/**
 * The side panel: a card per GPU and one for CPU and RAM, each with small line
 * charts of the last minutes.
 *
 * The charts are hand-drawn SVG paths (series.ts computes them) rather than a
 * charting library: a sparkline is a few dozen lines of code, while plotly
 * would add megabytes to the extension bundle for every JupyterLab page load.
 */
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { cardSpecs, CHART_HEIGHT, CHART_WIDTH, ICardSpec } from './cards';
import { MonitorModel } from './model';
import { chartSpan } from './series';

const SVG_NS = 'http://www.w3.org/2000/svg';

export class MonitorPanel extends Widget {
  constructor(model: MonitorModel) {
    super();
    this._model = model;
    this.id = 'jupyter-dl-monitor';
    this.title.caption = 'GPU Monitor';
    this.addClass('jp-dl-MonitorPanel');
    const heading = element('h2', 'jp-dl-MonitorPanel-title', 'GPU monitor');
    this._note = element('div', 'jp-dl-MonitorPanel-note');
    this._cards = element('div', 'jp-dl-MonitorPanel-cards');
    this._footer = element('div', 'jp-dl-MonitorPanel-footer');
    this.node.append(heading, this._note, this._cards, this._footer);
    model.changed.connect(() => {
      if (this.isVisible) {
        this._render();
      }
    });
  }

  protected onAfterShow(msg: Message): void {
    void this._model.start(); // in case no status bar started it (Notebook 7)
    this._render();
  }

  private _render(): void {
    const model = this._model;
    const current = model.current;
    const span = chartSpan(model.history, model.windowSeconds);
    this.toggleClass('jp-mod-muted', model.status === 'unavailable');
    if (model.status === 'unavailable') {
      this._footer.textContent = `Monitor unavailable (${model.error}); retrying less and less often.`;
    } else {
      this._footer.textContent = `Last ${Math.round(span / 60)} min, one sample every ${model.sampleInterval} s, read by the Jupyter server.`;
    }
    if (current === null) {
      this._note.textContent =
        model.status === 'loading' ? 'Waiting for the first sample\u2026' : '';
      return;
    }
    this._note.textContent =
      current.gpus.length === 0 && current.gpu_error
        ? `No GPU numbers: ${current.gpu_error}`
        : '';
    const specs = cardSpecs(current, model.history, span, model.sampleInterval);
    const keys = specs.map(spec => spec.key).join(' ');
    if (keys !== this._keys) {
      this._keys = keys;
      this._cardViews = specs.map(spec => new CardView(spec));
      this._cards.replaceChildren(...this._cardViews.map(view => view.node));
    }
    specs.forEach((spec, i) => this._cardViews[i].update(spec));
  }

  private _model: MonitorModel;
  private _note: HTMLElement;
  private _cards: HTMLElement;
  private _footer: HTMLElement;
  private _keys = '';
  private _cardViews: CardView[] = [];
}

/** One card's DOM, built once and updated in place on every poll. */
class CardView {
  constructor(spec: ICardSpec) {
    this.node = element('section', 'jp-dl-MonitorCard');
    this.node.dataset.key = spec.key;
    const header = element('div', 'jp-dl-MonitorCard-header');
    this._title = element('span', 'jp-dl-MonitorCard-title');
    this._detail = element('span', 'jp-dl-MonitorCard-detail');
    header.append(this._title, this._detail);
    this.node.appendChild(header);
    this._charts = spec.charts.map(() => {
      const row = element('div', 'jp-dl-MonitorChart');
      const label = element('div', 'jp-dl-MonitorChart-label');
      const name = element('span', 'jp-dl-MonitorChart-name');
      const value = element('span', 'jp-dl-MonitorChart-value');
      label.append(name, value);
      const svg = document.createElementNS(SVG_NS, 'svg');
      svg.setAttribute('viewBox', `0 0 ${CHART_WIDTH} ${CHART_HEIGHT}`);
      svg.setAttribute('preserveAspectRatio', 'none');
      svg.classList.add('jp-dl-Sparkline');
      const area = document.createElementNS(SVG_NS, 'path');
      area.classList.add('jp-dl-Sparkline-area');
      const line = document.createElementNS(SVG_NS, 'path');
      line.classList.add('jp-dl-Sparkline-line');
      svg.append(area, line);
      row.append(label, svg);
      this.node.appendChild(row);
      return { name, value, area, line };
    });
  }

  update(spec: ICardSpec): void {
    this._title.textContent = spec.title;
    this._detail.textContent = spec.detail;
    spec.charts.forEach((chart, i) => {
      const view = this._charts[i];
      view.name.textContent = chart.label;
      view.value.textContent = chart.value;
      view.area.setAttribute('d', chart.area);
      view.line.setAttribute('d', chart.line);
    });
  }

  readonly node: HTMLElement;
  private _title: HTMLElement;
  private _detail: HTMLElement;
  private _charts: {
    name: HTMLElement;
    value: HTMLElement;
    area: SVGPathElement;
    line: SVGPathElement;
  }[];
}

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text = ''
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  node.className = className;
  node.textContent = text;
  return node;
}
