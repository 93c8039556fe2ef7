import type { fleetHosts } from './api.js';
import { isOverdue } from '../predict/replace-by.js';
import { diskLabel, type MaintenanceItem } from './maintenance.js';
import type { ClusterSnapshot } from './clusters/snapshot.js';

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
export function fleetPage(hosts: ReturnType<typeof fleetHosts>, schedule: readonly MaintenanceItem[], clusters: readonly ClusterSnapshot[], version: string, nowMs: number): string {
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
  const clusterSections = clusters.map((c) => {
    const grantOf = new Map(c.grants.map((g) => [g.host, g]));
    const ratio = c.headroom.ratio;
    const failover =
      ratio === undefined
        ? `<small>unknown${c.headroom.worst?.unknown.length ? `: no CPU reading from ${e(c.headroom.worst.unknown.join(', '))}` : ''}</small>`
        : ratio === Infinity
          ? '<strong class="failing">no member would be left</strong>'
          : `<span class="${ratio > 0.8 ? 'failing' : 'ok'}">${percent(ratio)}</span> <small>if ${e(c.headroom.worst?.lost ?? '')} dropped out</small>`;
    const rows = c.members.map((m) => {
      const r = m.report;
      const g = grantOf.get(m.host);
      const answer = g ? `<span class="${g.state === 'granted' ? 'degraded' : 'failing'}">${e(g.state)}</span><br><small>${e(g.reason)}</small>` : r.request ? '<small>asked</small>' : '';
      const cpu = r.load.cpuUtilization === undefined ? '<small>?</small>' : percent(r.load.cpuUtilization);
      const conns = r.load.databases.filter((d) => d.connections !== undefined).map((d) => `${e(d.target)} ${d.connections}/${d.maxConnections ?? '?'}`).join('<br>');
      return `<tr><td>${e(m.host)}</td><td class="${m.state === 'up' ? 'ok' : 'failing'}">${e(m.state)}${m.offline ? ` <small>(${e(m.offline)})</small>` : ''}</td><td>${r.weight}%</td><td>${r.capacity}</td><td>${cpu}</td><td>${conns}</td><td>${answer}</td><td>${r.reasons.slice(0, 2).map((x) => e(x)).join('<br>')}</td></tr>`;
    });
    return `<h3>${e(c.cluster)}</h3>
<p>${c.drained} of ${c.members.length} out of the pool (at most ${c.maxDrained}) · failover: ${failover}</p>
${table(['host', 'state', 'weight', 'capacity', 'CPU', 'connections', 'drain', 'reasons'], rows, 'No member.')}`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>harbinger fleet</title><style>${STYLE}</style></head>
<body><h1>harbinger fleet</h1>
<p><small>${e(new Date(nowMs).toISOString())} · collector ${e(version)} ·
<a href="api/fleet">/api/fleet</a> · <a href="api/clusters">/api/clusters</a> · <a href="api/maintenance">/api/maintenance</a> · <a href="api/events">/api/events</a> ·
<a href="maintenance.ics">maintenance.ics</a> · <a href="maintenance.csv">maintenance.csv</a> · <a href="metrics">/metrics</a></small></p>
<h2>Disks to replace (${schedule.length})</h2>
${table(['replace by', 'host', 'disk', 'level', 'probability', 'evidence'], scheduleRows, 'No disk is degraded or failing.')}
<h2>Clusters (${clusters.length})</h2>
${clusterSections.length === 0 ? '<p><small>No host names a cluster (balance.cluster).</small></p>' : clusterSections.join('\n')}
<h2>Hosts (${hosts.length})</h2>
${table(['host', 'state', 'version', 'last seen', 'disks'], hostRows, 'No host has reported yet.')}
<h2>Disks (${diskRows.length})</h2>
${table(['host', 'disk', 'device', 'model', 'serial', 'level', 'probability', 'last reading'], diskRows, 'No disk has reported yet.')}
</body></html>
`;
}
