// The ingest page (#/ingest): per endpoint accepted, refused and duplicate
// rates, batches, busy answers, spool bytes and sealed files, from /metrics
// sampled by the strip (rates are differences between two samples).
import { h, fmtInt, fmtBytes } from "./dom.js";
import { samples } from "./strip.js";

const rate = (a, b, f) => (a && b && b.t > a.t ? Math.max(0, (f(b) - f(a)) / ((b.t - a.t) / 1000)) : null);

export async function renderIngest(main) {
  const s = samples();
  const cur = s[s.length - 1], prev = s[s.length - 2];
  if (!cur) { main.replaceChildren(h("h1", null, "Ingest"), h("p", null, "Waiting for the first /metrics sample…")); return; }
  const m = cur.m;
  const val = (mm, name, labels = {}) => {
    const list = (mm && mm[name]) || [];
    const hit = list.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
    return hit ? hit.value : 0;
  };
  const endpoints = (m.lakehouse_ingest_records_accepted_total || []).map((x) => x.labels);
  const fmtRate = (r) => (r === null ? "—" : r.toFixed(1) + "/s");
  main.replaceChildren(h("h1", null, "Ingest"),
    h("div", { class: "cards" },
      h("div", { class: "card" }, h("h2", null, "All endpoints"), h("dl", null,
        h("dt", null, "Batches"), h("dd", null, fmtInt(val(m, "lakehouse_ingest_batches_total"))),
        h("dt", null, "Busy answers"), h("dd", null, fmtInt(val(m, "lakehouse_ingest_busy_total"))),
        h("dt", null, "Duplicates"), h("dd", null, fmtInt(val(m, "lakehouse_ingest_duplicates_total"))),
        h("dt", null, "Duplicate rate"), h("dd", null, fmtRate(rate(prev, cur, (x) => val(x.m, "lakehouse_ingest_duplicates_total")))),
        h("dt", null, "Group commits"), h("dd", null, fmtInt(val(m, "lakehouse_ingest_group_commits_total"))),
        h("dt", null, "Sealed files"), h("dd", null, fmtInt(val(m, "lakehouse_ingest_sealed_files_total"))))),
      endpoints.map((l) => {
        const lab = { domain: l.domain, endpoint: l.endpoint };
        const tab = { domain: l.domain, table: l.endpoint };
        return h("div", { class: "card", "data-endpoint": `${l.domain}/${l.endpoint}` },
          h("h2", null, h("a", { href: `#/t/${l.domain}/bronze/${l.endpoint}` }, `${l.domain}/${l.endpoint}`)),
          h("dl", null,
            h("dt", null, "Accepted"), h("dd", null, fmtInt(val(m, "lakehouse_ingest_records_accepted_total", lab))),
            h("dt", null, "Accepted rate"), h("dd", null, fmtRate(rate(prev, cur, (x) => val(x.m, "lakehouse_ingest_records_accepted_total", lab)))),
            h("dt", null, "Refused"), h("dd", null, fmtInt(val(m, "lakehouse_ingest_records_refused_total", lab))),
            h("dt", null, "Refused rate"), h("dd", null, fmtRate(rate(prev, cur, (x) => val(x.m, "lakehouse_ingest_records_refused_total", lab)))),
            h("dt", null, "Spool"), h("dd", null, fmtBytes(val(m, "lakehouse_spool_bytes", tab))),
            h("dt", null, "Bronze"), h("dd", null, fmtBytes(val(m, "lakehouse_bronze_bytes", tab))),
            h("dt", null, "Files to merge"), h("dd", null, fmtInt(val(m, "lakehouse_bronze_backlog_files", tab)))));
      })));
}
