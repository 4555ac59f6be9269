/**
 * What the panel shows, computed from the samples: one card per GPU and one for
 * CPU and RAM, each with its numbers and chart lines. Plain data, so it is
 * tested without a DOM; panel.ts only puts it on the page.
 */
import {
  formatMemory,
  formatPercent,
  formatPower,
  formatTemperature,
  SEP
} from './format';
import {
  areaPath,
  gpuMemorySeries,
  gpuUtilSeries,
  IChartBox,
  IPoint,
  linePath,
  seriesOf
} from './series';
import { ISample } from './types';

/** The size of every chart in SVG units (the SVG stretches to the panel's width). */
export const CHART_WIDTH = 300;
export const CHART_HEIGHT = 40;

export interface IChartSpec {
  label: string;
  /** The latest value as text: "87%", "11.2/16.0 GB". */
  value: string;
  /** SVG path data of the line, and of the area under it (see series.ts). */
  line: string;
  area: string;
}

export interface ICardSpec {
  /** Stable per card ("gpu-0", "system"): the panel keeps a card's DOM while its key stays. */
  key: string;
  title: string;
  /** Short extra numbers beside the title ("54 °C · 313/700 W"), may be "". */
  detail: string;
  charts: IChartSpec[];
}

/**
 * The cards for the latest sample, with charts of `history` over the last
 * `spanSeconds` (see series.chartSpan) up to the latest sample.
 */
export function cardSpecs(
  current: ISample,
  history: ISample[],
  spanSeconds: number,
  sampleInterval: number
): ICardSpec[] {
  const tMax = current.time;
  const tMin = tMax - spanSeconds;
  // A hole of a few samples means the page could not reach the server: break the line there.
  const maxGap = Math.max(5, 3 * sampleInterval);
  const chart = (
    label: string,
    value: string,
    points: IPoint[],
    vMax: number
  ) => {
    const box: IChartBox = {
      width: CHART_WIDTH,
      height: CHART_HEIGHT,
      tMin,
      tMax,
      vMin: 0,
      vMax
    };
    return {
      label,
      value,
      line: linePath(points, box, maxGap),
      area: areaPath(points, box, maxGap)
    };
  };

  const gpuCards = current.gpus.map(gpu => ({
    key: `gpu-${gpu.index}`,
    title: `GPU ${gpu.index}${SEP}${gpu.name}`,
    detail: [
      formatTemperature(gpu.temperature_c),
      formatPower(gpu.power_w, gpu.power_limit_w)
    ]
      .filter(part => part !== '')
      .join(SEP),
    charts: [
      chart(
        'Utilisation',
        formatPercent(gpu.util_percent),
        gpuUtilSeries(history, gpu.index),
        100
      ),
      chart(
        'Memory',
        formatMemory(gpu.memory_used, gpu.memory_total),
        gpuMemorySeries(history, gpu.index),
        gpu.memory_total
      )
    ]
  }));

  const system: ICardSpec = {
    key: 'system',
    title: 'CPU and RAM',
    detail: '',
    charts: [
      chart(
        'CPU',
        formatPercent(current.cpu_percent),
        seriesOf(history, s => s.cpu_percent),
        100
      ),
      chart(
        'RAM',
        formatMemory(current.ram_used, current.ram_total),
        seriesOf(history, s => s.ram_used),
        current.ram_total
      )
    ]
  };
  return [...gpuCards, system];
}
