import { code, escapeCell, table } from '../markdown/markdown';
import { formatDuration } from '../inputs/parse';
import { telemetryCharts } from '../gpu/chart';
import type { TrainReport } from './train';

const mib = (value: number | null) => (value === null ? '–' : `${value.toLocaleString('en-US')} MiB`);
const percent = (value: number | null) => (value === null ? '–' : `${value}%`);

function gpuTable(report: TrainReport): string {
  const rows = report.stats.map((gpu) => [
    String(gpu.index),
    escapeCell(gpu.name),
    code(gpu.uuid),
    `${mib(gpu.peakMemoryMiB)}${gpu.memoryTotalMiB ? ` of ${mib(gpu.memoryTotalMiB)}` : ''}`,
    percent(gpu.meanUtilizationPercent),
    String(gpu.samples),
  ]);
  return table(['GPU', 'Name', 'UUID', { header: 'Peak memory', align: 'right' }, { header: 'Mean utilisation', align: 'right' }, { header: 'Samples', align: 'right' }], rows);
}

function metricsTable(report: TrainReport): string {
  const entries = report.metrics?.entries ?? [];
  return table(
    ['Metric', { header: 'Value', align: 'right' }],
    entries.map(({ name, value }) => [escapeCell(name), escapeCell(value === null ? 'null' : String(value))]),
  );
}

function cacheLine(report: TrainReport): string | undefined {
  const plan = report.plan.cache;
  if (!plan) return undefined;
  const restore = report.cacheRestore;
  const restored =
    restore?.status === 'hit'
      ? `restored ${code(restore.key)}`
      : restore?.status === 'partial'
        ? `restored ${code(restore.key)} (prefix match for ${code(plan.key)})`
        : restore?.status === 'miss'
          ? `nothing saved yet under ${code(plan.key)}`
          : `not restored: ${escapeCell(restore?.reason ?? 'unknown')}`;
  const save = report.cacheSave;
  const saved = !save ? '' : save.status === 'saved' ? `; saved ${code(save.key)}` : `; not saved: ${escapeCell(save.reason)}`;
  return `**Cache** ${plan.paths.map(code).join(', ')}: ${restored}${saved}`;
}

/** The job summary: what ran, how long, what the GPUs did, what came out. */
export function renderSummary(report: TrainReport, failure?: string): string {
  const lines: string[] = [];
  const took = report.durationSeconds !== undefined ? formatDuration(report.durationSeconds * 1000) : undefined;
  lines.push(failure ? '## ❌ Training failed' : '## ✅ Training finished');
  lines.push('');
  if (failure) lines.push(`> ${escapeCell(failure)}`, '');
  const where = report.plan.containerImage ? ` in ${code(report.plan.containerImage)}` : '';
  lines.push(`- **Command** ${code(report.plan.command)}${where}`);
  if (took) lines.push(`- **Duration** ${took} (${report.durationSeconds} s)`);
  if (report.plan.gpus.kind === 'none') lines.push('- **GPUs** none (`gpus: none`)');
  else if (report.chosen.length > 0) {
    const names = report.chosen.map((gpu) => (gpu.instanceOf ? `${gpu.index} (MIG ${gpu.instanceOf.profile} ${code(gpu.uuid)})` : String(gpu.index)));
    lines.push(`- **GPUs** ${report.chosen.length} of ${report.found.length}: ${names.join(', ')}`);
  }
  const mig = report.found.filter((gpu) => gpu.mig);
  if (mig.length > 0) {
    lines.push(`- **MIG** on for GPU ${mig.map((gpu) => `${gpu.index} (${gpu.mig!.length} instances)`).join(', ')}: \`gpus\` takes whole GPUs by index or \`GPU-\` UUID, and MIG instances only by \`MIG-\` UUID`);
  }
  const cache = cacheLine(report);
  if (cache) lines.push(`- ${cache}`);
  if (!failure) {
    const files = report.model?.files ?? 0;
    lines.push(`- **Model** ${code(report.shownModelPath)} (${files} file${files === 1 ? '' : 's'}), provenance in ${code(`${report.shownModelPath}/training.json`)}`);
  }
  lines.push('');

  if (report.stats.length > 0) {
    lines.push('### GPUs', '', gpuTable(report), '');
    if (report.stalls.length > 0) {
      lines.push(...report.stalls.map((stall) => `> ⚠️ GPU ${stall.index} was idle (0%) for ${stall.samples} samples from ${formatDuration(stall.fromMs) || '0s'} into the run.`), '');
    }
    if (report.telemetryFailures > 0 || report.telemetryGaps > 0) {
      lines.push(`_Telemetry: ${report.telemetryFailures} sample(s) failed and ${report.telemetryGaps} lacked a reading; each is a gap in the series (the charts draw a gap as the value before it)._`, '');
    }
    const charts = telemetryCharts(report.stats, report.series);
    if (charts) lines.push('### Utilisation over time', '', charts, '');
    else if (report.plan.telemetryIntervalMs > 0) lines.push('_Too few telemetry samples for a chart: the run was shorter than two sampling intervals._', '');
  }

  if (report.metrics) {
    lines.push(`### Metrics (${code(report.shownMetricsFile)})`, '', metricsTable(report), '');
  }
  return lines.join('\n');
}
