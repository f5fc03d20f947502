// DOM helpers: every element is built with createElement and text nodes,
// never through HTML strings, so data can never become markup.
const SVG_NS = "http://www.w3.org/2000/svg";

export function h(tag, attrs, ...kids) {
  const svg = tag.startsWith("svg:");
  const el = svg ? document.createElementNS(SVG_NS, tag.slice(4)) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "text") el.textContent = String(v);
    else if (k === "value" && !svg) el.value = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === null || kid === undefined || kid === false) continue;
    el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return el;
}

export const fmtInt = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"));

export function fmtBytes(n) {
  if (n === null || n === undefined) return "—";
  const u = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0, v = Number(n);
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return (i ? v.toFixed(1) : String(v)) + " " + u[i];
}

export function fmtAge(iso, now = Date.now()) {
  if (!iso) return "never";
  const s = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (s < 60) return Math.round(s) + " s ago";
  if (s < 3600) return Math.round(s / 60) + " min ago";
  if (s < 86400) return (s / 3600).toFixed(1) + " h ago";
  return (s / 86400).toFixed(1) + " d ago";
}

export function fmtSeconds(s) {
  if (s === null || s === undefined) return "—";
  return s < 1 ? Math.round(s * 1000) + " ms" : s < 120 ? s.toFixed(1) + " s" : (s / 60).toFixed(1) + " min";
}

export function stateWord(state) {
  return h("span", { class: "state-word", "data-state": state }, state);
}

// SQL text helpers: identifiers are quoted, literals escaped; the API takes
// SQL text, so the console builds it carefully from what the user picked.
export const qid = (name) => '"' + String(name).replaceAll('"', '""') + '"';
export function qlit(v) {
  if (v === null) return "NULL";
  if (typeof v === "number" || /^-?\d+(\.\d+)?$/.test(String(v))) return String(v);
  return "'" + String(v).replaceAll("'", "''") + "'";
}

export function debounce(fn, ms) {
  let t = null;
  return (...a) => { clearTimeout(t); t = setTimeout(() => fn(...a), ms); };
}

// A result table: columns from cols, rows as objects; numbers right-aligned.
export function grid(cols, rows, attrs = {}) {
  const head = h("tr", null, cols.map((c) => h("th", { scope: "col" }, c)));
  const body = rows.map((r) =>
    h("tr", null, cols.map((c) => {
      const v = r[c];
      if (v === null || v === undefined) return h("td", { class: "null" }, "null");
      if (typeof v === "number") return h("td", { class: "num" }, String(v));
      return h("td", null, typeof v === "object" ? JSON.stringify(v) : String(v));
    })));
  return h("div", { class: "gridwrap", tabindex: "0", role: "region", "aria-label": attrs.label || "results" },
    h("table", { class: "grid", ...attrs.table }, h("thead", null, head), h("tbody", null, body)));
}

export function download(name, type, text) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function toCsv(cols, rows) {
  const cell = (v) => {
    if (v === null || v === undefined) return "";
    const s = typeof v === "object" ? JSON.stringify(v) : String(v);
    return /[",\n\r]/.test(s) ? '"' + s.replaceAll('"', '""') + '"' : s;
  };
  return [cols.map(cell).join(","), ...rows.map((r) => cols.map((c) => cell(r[c])).join(","))].join("\n") + "\n";
}
