/**
 * The one poller behind the status-bar item and the panel: asks the server for
 * samples every interval, keeps a rolling history, and says when it changed.
 *
 * Polling is a lumino `Poll`, as in JupyterLab itself: while the page is hidden
 * it stands by and sends nothing, and coming back to the page asks at once.
 * After a failed request the wait doubles, up to `maxInterval`, and a working
 * answer brings it back to the interval. (The model sets that delay itself
 * rather than use the Poll's own backoff, which is random and, right after
 * start, can retry within milliseconds.)
 */
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { historyToRequest, mergeHistory, WINDOW_SECONDS } from './series';
import { IMonitorResponse, ISample } from './types';

/** loading: no answer yet; ok: the last request worked; unavailable: it failed (retrying with backoff). */
export type MonitorStatus = 'loading' | 'ok' | 'unavailable';

/** Fetches the endpoint's answer with `historySeconds` of history. */
export type MonitorFetcher = (
  historySeconds: number
) => Promise<IMonitorResponse>;

export interface IMonitorModelOptions {
  fetch: MonitorFetcher;
  /** Milliseconds between requests while they work (at least the server's sampling interval). */
  interval?: number;
  /** The longest wait between retries after failures, in milliseconds. */
  maxInterval?: number;
  /** Seconds of history kept for the charts. */
  windowSeconds?: number;
}

export class MonitorModel implements IDisposable {
  constructor(options: IMonitorModelOptions) {
    this._fetch = options.fetch;
    this._minInterval = options.interval ?? 1000;
    this._interval = this._minInterval;
    this._maxInterval = Math.max(options.maxInterval ?? 30_000, this._interval);
    this.windowSeconds = options.windowSeconds ?? WINDOW_SECONDS;
    this._poll = new Poll({
      auto: false,
      factory: () => this._tick(),
      frequency: {
        interval: this._interval,
        backoff: false,
        max: this._maxInterval
      },
      standby: 'when-hidden',
      name: 'jupyter-dl:monitor'
    });
    if (typeof document !== 'undefined') {
      document.addEventListener('visibilitychange', this._onVisibility);
    }
  }

  /** Seconds of history kept. */
  readonly windowSeconds: number;

  get status(): MonitorStatus {
    return this._status;
  }

  /** The latest sample, or null before the first answer. */
  get current(): ISample | null {
    return this._current;
  }

  /** Samples of the last `windowSeconds`, oldest first. */
  get history(): ISample[] {
    return this._history;
  }

  /** Why the last request failed, or null when it worked. */
  get error(): string | null {
    return this._error;
  }

  /** The server's sampling interval in seconds (1 until it says otherwise). */
  get sampleInterval(): number {
    return this._sampleInterval;
  }

  /** Emitted after every answer and every failure. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  get isDisposed(): boolean {
    return this._poll.isDisposed;
  }

  /** Start polling (does nothing when it already runs). */
  start(): Promise<void> {
    this._started = true;
    return this._poll.start();
  }

  /** Ask now instead of at the next tick. */
  refresh(): Promise<void> {
    return this._poll.refresh();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    if (typeof document !== 'undefined') {
      document.removeEventListener('visibilitychange', this._onVisibility);
    }
    this._poll.dispose();
    Signal.clearData(this);
  }

  /** One request; it never rejects, a failure only lengthens the wait before the next. */
  private async _tick(): Promise<void> {
    const seconds = historyToRequest(
      this._lastAnswer,
      Date.now(),
      this.windowSeconds
    );
    let answer: IMonitorResponse;
    try {
      answer = await this._fetch(seconds);
      if (!answer || !answer.current || !Array.isArray(answer.history)) {
        throw new Error('the server sent an answer without samples');
      }
    } catch (reason) {
      this._status = 'unavailable';
      this._error = reason instanceof Error ? reason.message : String(reason);
      const wait = this._poll.frequency.interval * 2;
      this._setDelay(
        Math.max(this._interval, Math.min(this._maxInterval, wait))
      );
      this._changed.emit();
      return;
    }
    this._lastAnswer = Date.now();
    this._current = answer.current;
    this._history = mergeHistory(
      this._history,
      answer.history.length > 0 ? answer.history : [answer.current],
      this.windowSeconds
    );
    this._status = 'ok';
    this._error = null;
    if (answer.interval > 0) {
      // No point asking more often than the server samples.
      this._sampleInterval = answer.interval;
      this._interval = Math.max(this._minInterval, answer.interval * 1000);
    }
    this._setDelay(this._interval);
    this._changed.emit();
  }

  /** The wait before the next request, in milliseconds (the Poll's interval). */
  private _setDelay(ms: number): void {
    this._poll.frequency = {
      interval: ms,
      backoff: false,
      max: Math.max(this._maxInterval, ms)
    };
  }

  private _onVisibility = (): void => {
    if (
      this._started &&
      !this.isDisposed &&
      document.visibilityState === 'visible'
    ) {
      void this._poll.refresh();
    }
  };

  private _fetch: MonitorFetcher;
  private _minInterval: number;
  private _interval: number; // between working requests
  private _maxInterval: number; // the longest wait after failures
  private _poll: Poll;
  private _started = false;
  private _status: MonitorStatus = 'loading';
  private _current: ISample | null = null;
  private _history: ISample[] = [];
  private _error: string | null = null;
  private _lastAnswer: number | null = null;
  private _sampleInterval = 1;
  private _changed = new Signal<this, void>(this);
}
