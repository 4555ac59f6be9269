/**
 * Text for people: the status-bar line, its tooltip and the panel's numbers.
 *
 * Memory is shown in binary gigabytes (1024^3 bytes) written "GB", the way
 * nvidia-smi users and most dashboards read it: a 16 GiB card shows "16.0 GB".
 */
import { IGpuSample, ISample } from './types';

const GIB = 1024 ** 3;

/** Middle dot with spaces: the separator of the status-bar line. */
export const SEP = ' \u00b7 ';

/** Bytes as gigabytes with one decimal: 12025908838 -> "11.2". */
export function formatGB(bytes: number): string {
  return (bytes / GIB).toFixed(1);
}

/** "used/total GB" with one decimal each: "11.2/16.0 GB". */
export function formatMemory(used: number, total: number): string {
  return `${formatGB(used)}/${formatGB(total)} GB`;
}

/** A percentage rounded to a whole number ("87%"), or "n/a" when unknown. */
export function formatPercent(value: number | null): string {
  return value === null || !Number.isFinite(value)
    ? 'n/a'
    : `${Math.round(value)}%`;
}

/** "312/700 W", "312 W" without a limit, "" when NVML gives no power reading. */
export function formatPower(
  watts: number | null,
  limit: number | null
): string {
  if (watts === null) {
    return '';
  }
  return limit === null
    ? `${Math.round(watts)} W`
    : `${Math.round(watts)}/${Math.round(limit)} W`;
}

/** "54 °C", or "" when unknown. */
export function formatTemperature(celsius: number | null): string {
  return celsius === null ? '' : `${Math.round(celsius)} \u00b0C`;
}

/**
 * The GPU to show when there are several: the highest utilisation (unknown
 * counts as lowest), then the fullest memory.
 */
export function busiestGpu(gpus: IGpuSample[]): IGpuSample | undefined {
  const fill = (g: IGpuSample) =>
    g.memory_total > 0 ? g.memory_used / g.memory_total : 0;
  let best: IGpuSample | undefined;
  for (const gpu of gpus) {
    if (
      best === undefined ||
      (gpu.util_percent ?? -1) > (best.util_percent ?? -1) ||
      ((gpu.util_percent ?? -1) === (best.util_percent ?? -1) &&
        fill(gpu) > fill(best))
    ) {
      best = gpu;
    }
  }
  return best;
}

/**
 * The status-bar line: "GPU 87% · 11.2/16.0 GB" for one GPU; with several,
 * the busiest one by index and how many more there are ("GPU1 87% · 11.2/16.0 GB (+3)");
 * without a GPU "CPU 12% · RAM 3.1/24.0 GB".
 */
export function statusText(sample: ISample): string {
  const gpu = busiestGpu(sample.gpus);
  if (gpu === undefined) {
    return `CPU ${formatPercent(sample.cpu_percent)}${SEP}RAM ${formatMemory(sample.ram_used, sample.ram_total)}`;
  }
  const several = sample.gpus.length > 1;
  const label = several ? `GPU${gpu.index}` : 'GPU';
  const util =
    gpu.util_percent === null ? '' : ` ${formatPercent(gpu.util_percent)}`;
  const more = several ? ` (+${sample.gpus.length - 1})` : '';
  return `${label}${util}${SEP}${formatMemory(gpu.memory_used, gpu.memory_total)}${more}`;
}

/** One line per GPU: "GPU 0 NVIDIA H100: 87% · 11.2/79.6 GB · 54 °C · 313/700 W". */
export function gpuLine(gpu: IGpuSample): string {
  const parts = [
    formatPercent(gpu.util_percent),
    formatMemory(gpu.memory_used, gpu.memory_total),
    formatTemperature(gpu.temperature_c),
    formatPower(gpu.power_w, gpu.power_limit_w)
  ].filter(part => part !== '');
  return `GPU ${gpu.index} ${gpu.name}: ${parts.join(SEP)}`;
}

/** The status item's tooltip: every GPU, the CPU and RAM, and why there is no GPU. */
export function statusTooltip(sample: ISample): string {
  const lines = sample.gpus.map(gpuLine);
  lines.push(
    `CPU ${formatPercent(sample.cpu_percent)}${SEP}RAM ${formatMemory(sample.ram_used, sample.ram_total)}`
  );
  if (sample.gpus.length === 0 && sample.gpu_error) {
    lines.push(`No GPU numbers: ${sample.gpu_error}`);
  }
  lines.push('Click to open the GPU monitor.');
  return lines.join('\n');
}
