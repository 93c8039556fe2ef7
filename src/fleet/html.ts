import type { fleetHosts } from './api.js';
import { isOverdue } from '../predict/replace-by.js';
import { diskLabel, type MaintenanceItem } from './maintenance.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;margin-bottom:1.5em}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3}.ok{color:#1a7f37}.watch{color:#9a6700}.degraded{color:#bc4c00;font-weight:bold}.failing{color:#cf222e;font-weight:bold}
.offline,.unknown{color:#6e7781}small{color:#6e7781}`;

const percent = (p: number) => `${Math.round(p * 1000) / 10}%`;

/**
 * The fleet page: hosts, the maintenance schedule and every disk, rendered on the server from the
 * same data as the JSON API. No script; every value from an agent is escaped.
 */
export function fleetPage(hosts: ReturnType<typeof fleetHosts>, schedule: readonly MaintenanceItem[], version: string, nowMs: number): string {
  const e = escapeHtml;
  const level = (l: string) => `<span class="${e(l)}">${e(l)}</span>`;
  const hostRows = hosts.map((h) => {
    const counts = new Map<string, number>();
    for (const d of h.disks) counts.set(d.level, (counts.get(d.level) ?? 0) + 1);
    const disks = [...counts].map(([l, n]) => `${n} ${level(l)}`).join(', ') || '<small>none</small>';
    return `<tr><td>${e(h.host)}</td><td class="${e(h.state)}">${e(h.state)}${h.reason ? ` <small>(${e(h.reason)})</small>` : ''}</td><td>${e(h.version ?? '')}</td><td>${e(new Date(h.lastSeenMs).toISOString())}</td><td>${disks}</td></tr>`;
  });
  const scheduleRows = schedule.map(
    (m) =>
      `<tr><td>${e(m.replaceBy ?? 'as soon as possible')}${m.replaceBy !== undefined && isOverdue(m.replaceBy, nowMs) ? ' <strong class="failing">overdue</strong>' : ''}</td><td>${e(m.host)}</td><td>${e(diskLabel(m))}<br><small>${e(m.disk)} ${e(m.device)}</small></td><td>${level(m.level)}</td><td>${percent(m.probability)}</td><td>${m.evidence.map((x) => e(x.note)).join('<br>')}</td></tr>`,
  );
  const diskRows = hosts.flatMap((h) =>
    h.disks.map(
      (d) =>
        `<tr><td>${e(h.host)}</td><td>${e(d.disk)}</td><td>${e(d.device)}</td><td>${e(d.model ?? '')}</td><td>${e(d.serial ?? '')}</td><td>${level(d.level)}</td><td>${percent(d.probability)}</td><td>${e(d.lastReading)}</td></tr>`,
    ),
  );
  const table = (head: string[], rows: string[], empty: string) =>
    rows.length === 0 ? `<p><small>${empty}</small></p>` : `<table><tr>${head.map((h) => `<th>${h}</th>`).join('')}</tr>\n${rows.join('\n')}</table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>harbinger fleet</title><style>${STYLE}</style></head>
<body><h1>harbinger fleet</h1>
<p><small>${e(new Date(nowMs).toISOString())} · collector ${e(version)} ·
<a href="api/fleet">/api/fleet</a> · <a href="api/maintenance">/api/maintenance</a> · <a href="api/events">/api/events</a> ·
<a href="maintenance.ics">maintenance.ics</a> · <a href="maintenance.csv">maintenance.csv</a> · <a href="metrics">/metrics</a></small></p>
<h2>Disks to replace (${schedule.length})</h2>
${table(['replace by', 'host', 'disk', 'level', 'probability', 'evidence'], scheduleRows, 'No disk is degraded or failing.')}
<h2>Hosts (${hosts.length})</h2>
${table(['host', 'state', 'version', 'last seen', 'disks'], hostRows, 'No host has reported yet.')}
<h2>Disks (${diskRows.length})</h2>
${table(['host', 'disk', 'device', 'model', 'serial', 'level', 'probability', 'last reading'], diskRows, 'No disk has reported yet.')}
</body></html>
`;
}
