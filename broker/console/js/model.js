// What the pipeline is now, joined from the API: the lineage graph, the
// tables' rows and snapshots, status (freshness, backlog, spool), jobs and
// their recent runs. Every figure shown comes from one of these answers.
import { api } from "./api.js";

export async function loadPipeline() {
  const [graph, tables, status, jobs, execs] = await Promise.all([
    api("/lineage/graph"),
    api("/consumption/tables"),
    api("/status"),
    api("/transform/jobs"),
    api("/transform/executions?limit=200"),
  ]);
  const byId = new Map();
  for (const t of tables) byId.set(`${t.domain}.${t.layer}.${t.table}`, { table: t });
  for (const t of status.tables || []) {
    const id = `${t.domain}.${t.layer}.${t.table}`;
    byId.set(id, { ...(byId.get(id) || {}), status: t });
  }
  const runsByJob = new Map();
  for (const e of execs) {
    const k = `${e.domain}/${e.job_name}`;
    if (!runsByJob.has(k)) runsByJob.set(k, []);
    runsByJob.get(k).push(e);
  }
  for (const runs of runsByJob.values()) runs.sort((a, b) => b.execution_id - a.execution_id);
  const processorLagging = (status.processes || []).some((p) => p.process === "processor" && p.lagging);
  const nodes = graph.nodes.map((n) => {
    const info = byId.get(n.id) || {};
    const t = info.table || {};
    const s = info.status || {};
    const runs = n.job ? runsByJob.get(n.job) || [] : [];
    const node = {
      ...n,
      rows: t.rows ?? s.rows ?? 0,
      snapshot: t.snapshot_id ?? 0,
      lastCommit: t.last_commit ?? s.last_commit ?? null,
      freshness: s.freshness_seconds ?? null,
      backlog: n.layer === "bronze" ? t.files_pending ?? s.backlog ?? 0 : s.backlog ?? 0,
      spool: s.spool_bytes ?? 0,
      files: t.files ?? null,
      runs: runs.slice(0, 5),
    };
    node.state = nodeState(node, s, processorLagging);
    return node;
  });
  return { nodes, edges: graph.edges, status, jobs, runsByJob, tables };
}

// The six state words; a node always says one of them in words.
export function nodeState(n, s, processorLagging) {
  if (n.layer === "gold") {
    const last = n.runs[0];
    if (last && last.status === "RUNNING") return "running";
    if (last && last.status === "FAILED") return "run failed";
    if (!n.snapshot) return "never built";
    return "fresh";
  }
  if (n.layer === "silver") {
    if (s.state === "blocked" || s.quarantined > 0) return "blocked";
    if (s.state === "lagging") return "lagging";
    if (!n.snapshot) return n.backlog > 0 || processorLagging ? "lagging" : "never built";
    return "fresh";
  }
  if (!n.rows && !n.backlog) return "never built";
  return n.backlog > 0 ? "lagging" : "fresh";
}

export function spokenLabel(n) {
  let extra = "";
  if (n.backlog > 0) extra = `, ${n.backlog} file${n.backlog === 1 ? "" : "s"} behind`;
  else if (n.layer === "gold" && n.runs[0]) extra = `, last run ${n.runs[0].status.toLowerCase()}`;
  return `${n.id}: ${n.state}${extra}, ${n.rows} rows, snapshot ${n.snapshot}`;
}
