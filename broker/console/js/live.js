// Live updates: the /events stream (Server-Sent Events) read with fetch so
// that it carries the token; each event calls onEvent. While the stream is
// down the page polls every 5 s, only while the tab is visible, and tries
// the stream again.
import { authHeaders } from "./api.js";

export function startLive(onEvent, onState) {
  let lastId = null;
  let pollTimer = null;

  const poll = () => {
    if (document.visibilityState === "visible") onEvent({ topic: "poll", data: {} });
  };
  const polling = (on) => {
    if (on && !pollTimer) pollTimer = setInterval(poll, 5000);
    if (!on && pollTimer) { clearInterval(pollTimer); pollTimer = null; }
  };

  async function connect() {
    try {
      const headers = { Accept: "text/event-stream", ...authHeaders() };
      if (lastId !== null) headers["Last-Event-ID"] = lastId;
      const r = await fetch("/events", { headers });
      if (!r.ok || !r.body) throw new Error("events: HTTP " + r.status);
      onState("live");
      polling(false);
      if (lastId !== null) onEvent({ topic: "resume", data: {} });
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let i;
        while ((i = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let topic = "message", data = "", id = null;
          for (const line of block.split("\n")) {
            if (line.startsWith(":")) continue;
            const c = line.indexOf(":");
            const field = c < 0 ? line : line.slice(0, c);
            const val = c < 0 ? "" : line.slice(c + 1).replace(/^ /, "");
            if (field === "event") topic = val;
            else if (field === "data") data += (data ? "\n" : "") + val;
            else if (field === "id") id = val;
          }
          if (id !== null) lastId = id;
          if (!data && topic === "message") continue;
          let parsed = {};
          try { parsed = data ? JSON.parse(data) : {}; } catch { parsed = { text: data }; }
          onEvent({ topic, data: parsed });
        }
      }
    } catch {
      // fall through: the stream is down
    }
    onState("polling");
    polling(true);
    setTimeout(connect, 10000);
  }
  document.addEventListener("visibilitychange", poll);
  connect();
}
