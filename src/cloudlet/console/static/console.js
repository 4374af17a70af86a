// The console's shell: sign-in, the one call path (/api/call), hash routing, DOM helpers.
import { routes } from "./pages.js";

// The CSRF token lives in this origin's storage only (cookies ignore ports: anything else on
// 127.0.0.1 the browser visits gets the session cookie, never the token).
const TOKEN_KEY = "cloudlet-console-csrf";
let csrf = localStorage.getItem(TOKEN_KEY), csrfHeader = "X-Console-Csrf";
const main = document.getElementById("main");
// Timers a page starts (polling, live tail) end when the page changes.
let timers = [];

export class ApiError extends Error {
  constructor(code, message, status) { super(`${code}: ${message}`); this.code = code; this.status = status; }
}

// One AWS operation through cloudlet's front door (same validation and IAM authorization as the API).
export async function api(service, operation, input = {}) {
  const r = await fetch("/api/call", {
    method: "POST",
    headers: { "Content-Type": "application/json", [csrfHeader]: csrf || "" },
    body: JSON.stringify({ service, operation, input }),
  });
  const out = await r.json();
  if (r.status === 401) { showSignIn(out.Error.Message); throw new ApiError(out.Error.Code, out.Error.Message, 401); }
  if (!r.ok) throw new ApiError(out.Error.Code, out.Error.Message, r.status);
  return out;
}

// All pages of a paginated List/Describe call, following NextToken / Marker.
export async function all(service, operation, input, listKey, tokenIn = "NextToken", tokenOut = tokenIn) {
  const items = [];
  let token;
  for (let i = 0; i < 50; i++) {
    const out = await api(service, operation, token ? { ...input, [tokenIn]: token } : input);
    items.push(...(out[listKey] || []));
    token = out[tokenOut];
    if (!token || (tokenOut === "Marker" && !out.IsTruncated)) break;
  }
  return items;
}

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function table(columns, rows, empty = "None.") {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h("table", {},
    h("thead", {}, h("tr", {}, columns.map(([title]) => h("th", {}, title)))),
    h("tbody", {}, rows.map(r => h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(r) ?? ""))))));
}

export function kv(pairs) {
  return h("dl", { class: "kv" }, pairs.filter(([, v]) => v !== undefined && v !== null && v !== "")
    .map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

export const link = (href, text) => h("a", { href }, text);
export const status = s => h("span", { class: `status ${s || ""}`, "data-status": s || "" }, s || "");
export const when = t => (t === undefined || t === null) ? "" :
  new Date(typeof t === "number" ? (t > 1e11 ? t : t * 1000) : t).toISOString().replace(".000Z", "Z");
export const errorBox = e => h("div", { class: "error", role: "alert" }, e instanceof ApiError ? `${e.code}: ${e.message.split(": ").slice(1).join(": ") || e.message}` : String(e));

// A section whose content comes from an async builder; an error shows in its place.
export function panel(title, build) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  const sec = h("section", { class: "panel" }, title ? h("h2", {}, title) : null, body);
  (async () => {
    try { body.replaceChildren(await build()); } catch (e) { body.replaceChildren(errorBox(e)); }
  })();
  return sec;
}

export function every(ms, fn) { const t = setInterval(fn, ms); timers.push(() => clearInterval(t)); }
export function onLeave(fn) { timers.push(fn); }

async function route() {
  for (const stop of timers) stop();
  timers = [];
  const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
  const page = routes[parts[0]] || routes.elasticache;
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.getAttribute("href") === `#/${parts[0] || "elasticache"}`);
  main.replaceChildren(await page(parts.slice(1)));
}

function showSignIn(message) {
  csrf = null;
  localStorage.removeItem(TOKEN_KEY);
  document.getElementById("nav").hidden = true;
  document.getElementById("signout").hidden = true;
  document.getElementById("who").textContent = "";
  for (const stop of timers) stop();
  timers = [];
  const err = h("div", { class: "error", role: "alert", hidden: !message }, message || "");
  const secret = h("input", { id: "secret", type: "password", autocomplete: "off" });
  const key = h("input", { id: "access-key-id", autocomplete: "off" });
  const sk = h("input", { id: "secret-access-key", type: "password", autocomplete: "off" });
  const submit = async (form) => {
    const r = await fetch("/api/signin", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(form) });
    const out = await r.json();
    if (!r.ok) { err.hidden = false; err.textContent = out.Error.Message; return; }
    signedIn(out);
  };
  main.replaceChildren(h("div", { class: "signin" },
    h("h1", {}, "Sign in to the cloudlet console"),
    err,
    h("section", { class: "panel" },
      h("p", {}, "With the secret ", h("code", {}, "cloudlet console"), " prints (the account's root user):"),
      h("form", { onsubmit: e => { e.preventDefault(); submit({ secret: secret.value }); } },
        h("label", { for: "secret" }, "Console secret"), secret,
        h("div", { class: "row" }, h("button", { class: "primary", id: "signin-secret" }, "Sign in")))),
    h("section", { class: "panel" },
      h("p", {}, "Or as an IAM user, with one of its access keys (the console then does only what its policies allow):"),
      h("form", { onsubmit: e => { e.preventDefault(); submit({ accessKeyId: key.value, secretAccessKey: sk.value }); } },
        h("label", { for: "access-key-id" }, "Access key ID"), key,
        h("label", { for: "secret-access-key" }, "Secret access key"), sk,
        h("div", { class: "row" }, h("button", { id: "signin-key" }, "Sign in with access key"))))));
}

function signedIn(session) {
  if (session.csrf) { csrf = session.csrf; localStorage.setItem(TOKEN_KEY, csrf); }
  csrfHeader = session.csrfHeader || csrfHeader;
  document.getElementById("nav").hidden = false;
  document.getElementById("signout").hidden = false;
  document.getElementById("who").textContent = session.principal;
  route();
}

document.getElementById("signout").addEventListener("click", async () => {
  await fetch("/api/signout", { method: "POST", headers: { [csrfHeader]: csrf || "" } });
  showSignIn();
});
window.addEventListener("hashchange", () => { if (csrf) route(); });

(async () => {
  const r = csrf ? await fetch("/api/session") : null;
  if (r && r.ok) signedIn(await r.json()); else showSignIn();
})();
