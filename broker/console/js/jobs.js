// The jobs page (#/jobs) and one job (#/jobs/<domain>/<name>): schedule,
// inputs, last status and duration, next cron time; its runs with a
// duration chart and errors; its SQL with links to its inputs; Run now.
import { api, enc, ApiError } from "./api.js";
import { h, grid, fmtSeconds } from "./dom.js";
import { loadPipeline } from "./model.js";
import { confirmCall } from "./confirm.js";

const runAnswers = new Map(); // job id -> what Run now last answered

const duration = (r) => (r.finished_at && r.started_at ? (Date.parse(r.finished_at) - Date.parse(r.started_at)) / 1000 : null);

// The next time a five-field cron expression fires after `from` (UTC), or null.
export function nextCron(expr, from = new Date()) {
  const f = (expr || "").trim().split(/\s+/);
  if (f.length !== 5) return null;
  const ranges = [[0, 59], [0, 23], [1, 31], [1, 12], [0, 6]];
  const sets = f.map((field, i) => {
    const [lo, hi] = ranges[i];
    const s = new Set();
    for (const part of field.split(",")) {
      const m = /^(\*|(\d+)(?:-(\d+))?)(?:\/(\d+))?$/.exec(part);
      if (!m) return null;
      const a = m[1] === "*" ? lo : Number(m[2]), b = m[1] === "*" ? hi : m[3] !== undefined ? Number(m[3]) : m[4] ? hi : a;
      for (let v = a; v <= b; v += Number(m[4] || 1)) s.add(i === 4 && v === 7 ? 0 : v);
    }
    return s;
  });
  if (sets.includes(null)) return null;
  const t = new Date(from.getTime());
  t.setUTCSeconds(0, 0);
  for (let i = 0; i < 366 * 24 * 60; i++) {
    t.setUTCMinutes(t.getUTCMinutes() + 1);
    if (sets[0].has(t.getUTCMinutes()) && sets[1].has(t.getUTCHours()) && sets[2].has(t.getUTCDate()) &&
        sets[3].has(t.getUTCMonth() + 1) && sets[4].has(t.getUTCDay())) return t;
  }
  return null;
}

function inputsOf(p, job) {
  const target = p.nodes.find((n) => n.job === job.id);
  if (!target) return [];
  return p.edges.filter((e) => e.to === target.id).map((e) => e.from);
}

export async function renderJobs(main, params, nav) {
  const p = await loadPipeline();
  const rows = p.jobs.map((j) => {
    const runs = p.runsByJob.get(j.id) || [];
    const last = runs[0];
    return { j, last, inputs: inputsOf(p, j) };
  });
  main.replaceChildren(h("h1", null, "Jobs"),
    rows.length ? h("div", { class: "gridwrap", tabindex: "0", role: "region", "aria-label": "Jobs" },
      h("table", { class: "grid" },
        h("thead", null, h("tr", null, ["Job", "Schedule", "Write mode", "Inputs", "Last status", "Duration", "Next run"].map((c) => h("th", { scope: "col" }, c)))),
        h("tbody", null, rows.map(({ j, last, inputs }) => {
          const next = j.schedule_type === "cron" ? nextCron(j.cron_schedule) : null;
          return h("tr", { "data-job": j.id },
            h("td", null, h("a", { href: `#/jobs/${j.domain}/${j.job_name}` }, j.id)),
            h("td", null, j.schedule_type === "cron" ? `cron ${j.cron_schedule}` : j.schedule_type),
            h("td", null, j.write_mode + (j.incremental ? " (incremental)" : "")),
            h("td", null, inputs.map((i, k) => [k ? ", " : "", h("a", { href: "#/t/" + i.split(".").join("/") }, i)])),
            h("td", null, last ? last.status : "never run"),
            h("td", { class: "num" }, last ? fmtSeconds(duration(last)) : "—"),
            h("td", null, next ? next.toISOString().replace(".000Z", "Z") : "—"));
        }))))
      : h("p", null, "No transform jobs yet (POST /transform/jobs or lakehouse job add)."));
  void params; void nav;
}

export async function renderJob(main, [domain, name], params, nav) {
  const id = `${domain}/${name}`;
  const [p, job, runs] = await Promise.all([
    loadPipeline(),
    api(`/transform/jobs/${enc(domain)}/${enc(name)}`),
    api(`/transform/executions?domain=${enc(domain)}&job_name=${enc(name)}&limit=100`),
  ]);
  const inputs = inputsOf(p, job);
  // The page re-renders on every event a run publishes: the answer of Run
  // now is kept per job so that it survives those re-renders.
  const status = h("p", { id: "job-run-status", role: "status" }, runAnswers.get(id) || "");
  const say = (text) => {
    runAnswers.set(id, text);
    const el = document.getElementById("job-run-status");
    if (el) el.textContent = text;
  };
  const runNow = async () => {
    const ok = await confirmCall(`Run ${id} now?`, `POST /transform/jobs/${domain}/${name}/run`);
    if (!ok) return;
    // A busy transformer answers 503 with Retry-After: wait and ask again.
    for (let attempt = 0; ; attempt++) {
      try {
        const r = await api(`/transform/jobs/${enc(domain)}/${enc(name)}/run`, { method: "POST" });
        say(`Started: execution ${r.execution_id ?? ""} ${r.status ?? ""}`.trim());
        return;
      } catch (e) {
        if (e instanceof ApiError && e.status === 503 && attempt < 6) {
          say(`The transformer is busy; asking again in ${e.retryAfter || 1} s…`);
          await new Promise((resolve) => setTimeout(resolve, 1000 * (e.retryAfter || 1)));
          continue;
        }
        say(e instanceof ApiError ? `${e.status}: ${e.detail}` : String(e));
        return;
      }
    }
  };
  const chart = h("div", { class: "chart", role: "img", "aria-label": `Durations of the last ${runs.length} runs of ${id}` });
  main.replaceChildren(
    h("h1", null, `Job ${id}`),
    h("div", { class: "card" }, h("dl", null,
      h("dt", null, "Schedule"), h("dd", null, job.schedule_type === "cron" ? `cron ${job.cron_schedule}` : job.schedule_type),
      h("dt", null, "Next run"), h("dd", null, job.schedule_type === "cron" ? (nextCron(job.cron_schedule)?.toISOString() ?? "—") : "on its inputs' commits"),
      h("dt", null, "Write mode"), h("dd", null, job.write_mode + (job.unique_key ? ` (key ${job.unique_key})` : "")),
      h("dt", null, "Incremental"), h("dd", null, job.incremental ? "yes" : "no"),
      h("dt", null, "Inputs"), h("dd", null, inputs.length ? inputs.map((i, k) => [k ? ", " : "", h("a", { href: "#/t/" + i.split(".").join("/") }, i)]) : "—"),
      h("dt", null, "Writes"), h("dd", null, h("a", { href: `#/t/${domain}/gold/${name}` }, `${domain}.gold.${name}`)))),
    h("div", { class: "toolbar" }, h("button", { class: "primary", onclick: runNow }, "Run now"), status),
    h("h2", null, "SQL"), h("pre", { class: "sql" }, job.query),
    h("h2", null, "Runs"), chart,
    grid(["execution_id", "trigger", "status", "started_at", "finished_at", "rows", "error"], runs,
      { label: `runs of ${id}`, table: { "data-runs": id } }));
  const ok = runs.filter((r) => r.finished_at).reverse();
  if (ok.length > 1) {
    const xs = ok.map((r) => Date.parse(r.started_at) / 1000), ys = ok.map(duration);
    new uPlot({ width: Math.min(900, main.clientWidth - 20), height: 160, series: [{}, { label: "seconds", stroke: "#0b57a4" }],
      axes: [{}, { label: "s" }] }, [xs, ys], chart);
  }
  void params; void nav;
}
