/**
 * From the server's samples to chart lines: keep a rolling window of history,
 * ask the server only for what is new, and turn a series into an SVG path.
 */
import { ISample } from './types';

/** How much history the panel charts show, in seconds. */
export const WINDOW_SECONDS = 300;

/** The most history the endpoint gives in one answer (its `history` cap). */
export const MAX_HISTORY_SECONDS = 600;

/**
 * The history with the samples from `incoming` that are newer than the last
 * one already held, without those older than `windowSeconds` before the newest.
 * Answers overlap on purpose (see `historyToRequest`); time orders them.
 */
export function mergeHistory(
  held: ISample[],
  incoming: ISample[],
  windowSeconds: number
): ISample[] {
  const last = held.length > 0 ? held[held.length - 1].time : -Infinity;
  const merged = held.concat(incoming.filter(s => s.time > last));
  if (merged.length === 0) {
    return merged;
  }
  const oldest = merged[merged.length - 1].time - windowSeconds;
  const first = merged.findIndex(s => s.time >= oldest);
  return first > 0 ? merged.slice(first) : merged;
}

/**
 * Seconds of history to ask for: the whole window on the first request, after
 * that the time since the last answer plus a few seconds of slack (so no sample
 * falls between two answers), at most the window and never less than 1.
 */
export function historyToRequest(
  lastAnswerMs: number | null,
  nowMs: number,
  windowSeconds: number
): number {
  const cap = Math.min(windowSeconds, MAX_HISTORY_SECONDS);
  if (lastAnswerMs === null) {
    return cap;
  }
  const since = Math.ceil((nowMs - lastAnswerMs) / 1000) + 3;
  return Math.max(1, Math.min(cap, since));
}

/** A point of a chart: time in unix seconds, value or null where unknown. */
export interface IPoint {
  t: number;
  v: number | null;
}

/** One number per sample, e.g. `seriesOf(history, s => s.cpu_percent)`. */
export function seriesOf(
  history: ISample[],
  pick: (sample: ISample) => number | null | undefined
): IPoint[] {
  return history.map(sample => ({ t: sample.time, v: pick(sample) ?? null }));
}

/** Utilisation (%) of the GPU with NVML index `index`; null where it was absent. */
export function gpuUtilSeries(history: ISample[], index: number): IPoint[] {
  return seriesOf(
    history,
    s => s.gpus.find(g => g.index === index)?.util_percent
  );
}

/** Memory used (bytes) on the GPU with NVML index `index`; null where it was absent. */
export function gpuMemorySeries(history: ISample[], index: number): IPoint[] {
  return seriesOf(
    history,
    s => s.gpus.find(g => g.index === index)?.memory_used
  );
}

/** Where a chart draws: its size in SVG units and the time and value ranges it shows. */
export interface IChartBox {
  width: number;
  height: number;
  tMin: number;
  tMax: number;
  vMin: number;
  vMax: number;
}

/**
 * Seconds the charts span: the history held, but at least `minSeconds` (so a
 * fresh chart does not stretch a few samples across its width) and at most the window.
 */
export function chartSpan(
  history: ISample[],
  windowSeconds: number,
  minSeconds = 60
): number {
  const held =
    history.length > 0 ? history[history.length - 1].time - history[0].time : 0;
  return Math.min(windowSeconds, Math.max(minSeconds, held));
}

interface IKnownPoint {
  t: number;
  v: number;
}

/**
 * The runs of known values in `points`: an unknown value, or a gap longer than
 * `maxGapSeconds` between two samples (the page could not reach the server),
 * ends a run, so the chart shows a hole there instead of a made-up line.
 */
export function runs(
  points: IPoint[],
  maxGapSeconds = Infinity
): IKnownPoint[][] {
  const result: IKnownPoint[][] = [];
  let run: IKnownPoint[] = [];
  for (const { t, v } of points) {
    if (v === null || !Number.isFinite(v)) {
      run = [];
      continue;
    }
    if (run.length === 0 || t - run[run.length - 1].t > maxGapSeconds) {
      run = [];
      result.push(run);
    }
    run.push({ t, v });
  }
  return result;
}

/** SVG coordinates of a point in `box`: time to x, value to y (clamped to the range, larger values higher). */
function scale(box: IChartBox): (p: IKnownPoint) => string {
  const tSpan = box.tMax - box.tMin || 1;
  const vSpan = box.vMax - box.vMin || 1;
  return ({ t, v }) => {
    const clamped = Math.min(box.vMax, Math.max(box.vMin, v));
    const x = ((t - box.tMin) / tSpan) * box.width;
    const y = box.height - ((clamped - box.vMin) / vSpan) * box.height;
    return `${round(x)},${round(y)}`;
  };
}

/** The SVG path data ("M x,y L x,y ...") of the line through each run of `points` in `box`. */
export function linePath(
  points: IPoint[],
  box: IChartBox,
  maxGapSeconds = Infinity
): string {
  const xy = scale(box);
  return runs(points, maxGapSeconds)
    .map(run => run.map((p, i) => `${i === 0 ? 'M' : 'L'}${xy(p)}`).join(' '))
    .join(' ');
}

/** The SVG path data of the area under each run's line, down to the bottom of `box`. */
export function areaPath(
  points: IPoint[],
  box: IChartBox,
  maxGapSeconds = Infinity
): string {
  const xy = scale(box);
  const bottom = (p: IKnownPoint) => xy({ t: p.t, v: box.vMin });
  return runs(points, maxGapSeconds)
    .map(run => {
      const line = run.map(p => `L${xy(p)}`).join(' ');
      return `M${bottom(run[0])} ${line} L${bottom(run[run.length - 1])} Z`;
    })
    .join(' ');
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
