// The console's pages, each a function of the route's remaining parts returning a node.
import { api, all, h, table, kv, link, status, when, errorBox, panel, every, ApiError } from "./console.js";
import { metricCharts } from "./charts.js";

const enc = encodeURIComponent;
const TRANSITIONAL = new Set(["creating", "modifying", "deleting", "Pending", "InProgress"]);

// ---------------------------------------------------------------- ElastiCache

const endpoint = e => e && e.Address ? `${e.Address}:${e.Port}` : "";
const limits = l => !l ? "none" : [
  l.DataStorage && `data ${l.DataStorage.Minimum ?? 0}–${l.DataStorage.Maximum ?? "∞"} ${l.DataStorage.Unit || "GB"}`,
  l.ECPUPerSecond && `ECPU/s ${l.ECPUPerSecond.Minimum ?? 0}–${l.ECPUPerSecond.Maximum ?? "∞"}`,
].filter(Boolean).join(", ") || "none";

function cachesTable(caches) {
  return table([
    ["Name", c => link(`#/elasticache/${enc(c.ServerlessCacheName)}`, c.ServerlessCacheName)],
    ["Status", c => status(c.Status)],
    ["Engine", c => `${c.Engine} ${c.FullEngineVersion || c.MajorEngineVersion || ""}`],
    ["Endpoint", c => h("span", { class: "mono" }, endpoint(c.Endpoint))],
    ["Reader endpoint", c => h("span", { class: "mono" }, endpoint(c.ReaderEndpoint))],
    ["Usage limits", c => limits(c.CacheUsageLimits)],
    ["User group", c => c.UserGroupId || ""],
  ], caches, "No serverless caches.");
}

// A table that re-reads itself every 2 s while anything in it is between states.
function livePanel(title, load, render, stateOf) {
  const body = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  let busy = false;
  const refresh = async () => {
    if (busy) return;
    busy = true;
    try {
      const items = await load();
      body.replaceChildren(render(items));
      return items.some(i => TRANSITIONAL.has(stateOf(i)));
    } catch (e) { body.replaceChildren(errorBox(e)); return false; } finally { busy = false; }
  };
  refresh();
  every(2000, refresh);
  return h("section", { class: "panel" }, h("h2", {}, title), body);
}

async function elasticache(parts) {
  if (parts[0]) return cacheDetail(parts[0]);
  return h("div", {}, h("h1", {}, "ElastiCache — serverless caches"),
    livePanel("Caches", () => all("elasticache", "DescribeServerlessCaches", {}, "ServerlessCaches"), cachesTable, c => c.Status),
    panel("Users", async () => table([
      ["User ID", u => u.UserId], ["User name", u => u.UserName], ["Status", u => status(u.Status)],
      ["Authentication", u => u.Authentication?.Type || ""], ["Access string", u => h("span", { class: "mono" }, u.AccessString || "")],
      ["User groups", u => (u.UserGroupIds || []).join(", ")],
    ], await all("elasticache", "DescribeUsers", {}, "Users", "Marker"), "No users.")),
    panel("User groups", async () => table([
      ["User group ID", g => g.UserGroupId], ["Status", g => status(g.Status)], ["Engine", g => g.Engine],
      ["Users", g => (g.UserIds || []).join(", ")], ["Caches", g => (g.ServerlessCaches || []).join(", ")],
    ], await all("elasticache", "DescribeUserGroups", {}, "UserGroups", "Marker"), "No user groups.")),
    panel("Snapshots", async () => snapshotsTable(await all("elasticache", "DescribeServerlessCacheSnapshots", {}, "ServerlessCacheSnapshots"))));
}

const snapshotsTable = snaps => table([
  ["Snapshot", s => s.ServerlessCacheSnapshotName], ["Status", s => status(s.Status)],
  ["Cache", s => s.ServerlessCacheConfiguration?.ServerlessCacheName || ""], ["Type", s => s.SnapshotType || ""],
  ["Size", s => s.BytesUsedForCache || ""], ["Created", s => when(s.CreateTime)],
], snaps, "No snapshots.");

async function cacheDetail(name) {
  const info = h("div", {}, h("p", { class: "muted" }, "Loading…"));
  let last = null;
  const refresh = async () => {
    try {
      const [c] = (await api("elasticache", "DescribeServerlessCaches", { ServerlessCacheName: name })).ServerlessCaches;
      last = c.Status;
      info.replaceChildren(kv([
        ["Status", status(c.Status)], ["ARN", h("span", { class: "mono" }, c.ARN)],
        ["Engine", `${c.Engine} ${c.FullEngineVersion || ""}`],
        ["Endpoint", h("span", { class: "mono", id: "cache-endpoint" }, endpoint(c.Endpoint))],
        ["Reader endpoint", h("span", { class: "mono" }, endpoint(c.ReaderEndpoint))],
        ["Usage limits", limits(c.CacheUsageLimits)], ["User group", c.UserGroupId],
        ["Subnets", (c.SubnetIds || []).join(", ")], ["Security groups", (c.SecurityGroupIds || []).join(", ")],
        ["Snapshot retention (days)", c.SnapshotRetentionLimit], ["Daily snapshot time", c.DailySnapshotTime],
        ["Created", when(c.CreateTime)],
      ]));
    } catch (e) { info.replaceChildren(errorBox(e)); }
  };
  await refresh();
  every(2000, () => TRANSITIONAL.has(last) && refresh());
  const charts = h("div", { class: "charts" });
  metricCharts(charts, "AWS/ElastiCache", [{ Name: "clusterId", Value: name }], [
    ["BytesUsedForCache", "Average", "Bytes"], ["ElastiCacheProcessingUnits", "Sum", "ECPUs"],
    ["CurrConnections", "Average", "Count"], ["NewConnections", "Sum", "Count"],
    ["CacheHits", "Sum", "Count"], ["CacheMisses", "Sum", "Count"], ["ThrottledCmds", "Sum", "Count"],
  ]);
  return h("div", {}, h("p", {}, link("#/elasticache", "← Caches")), h("h1", {}, name),
    h("section", { class: "panel" }, info),
    h("section", { class: "panel" }, h("h2", {}, "Metrics (last hour, 1-minute periods)"), charts),
    panel("Snapshots", async () => snapshotsTable(await all("elasticache", "DescribeServerlessCacheSnapshots", { ServerlessCacheName: name }, "ServerlessCacheSnapshots"))));
}

// ---------------------------------------------------------------- Lambda

async function lambda(parts) {
  if (parts[0]) return functionDetail(parts[0]);
  return h("div", {}, h("h1", {}, "Lambda — functions"),
    livePanel("Functions", () => all("lambda", "ListFunctions", {}, "Functions", "Marker", "NextMarker"), fns => table([
      ["Name", f => link(`#/lambda/${enc(f.FunctionName)}`, f.FunctionName)], ["Runtime", f => f.Runtime || f.PackageType],
      ["Memory (MB)", f => f.MemorySize], ["Timeout (s)", f => f.Timeout], ["State", f => status(f.State || "")],
      ["Last modified", f => f.LastModified],
    ], fns, "No functions."), f => f.State));
}

const B64 = { enc: s => btoa(String.fromCharCode(...new TextEncoder().encode(s))),
  dec: b => new TextDecoder().decode(Uint8Array.from(atob(b || ""), c => c.charCodeAt(0))) };

function report(log) {
  const line = log.split("\n").find(l => l.startsWith("REPORT")) || "";
  // The figures of the REPORT line, as the Lambda console's summary shows them.
  const fields = [...line.matchAll(/([A-Za-z ]+): ([\d.]+ (?:ms|MB))/g)].map(m => [m[1].trim(), m[2]]);
  const id = (line.match(/RequestId: ([\w-]+)/) || [])[1];
  return h("div", { class: "report", id: "report" }, id ? h("div", {}, h("b", {}, "Request ID"), id) : null,
    fields.map(([k, v]) => h("div", {}, h("b", {}, k), v)));
}

function testPanel(name) {
  const event = h("textarea", { id: "test-event", spellcheck: "false" }, '{\n  "key": "value"\n}');
  const out = h("div", { id: "test-result" });
  const run = async () => {
    let payload;
    try { JSON.parse(event.value); payload = event.value; } catch (e) { out.replaceChildren(errorBox(`The event is not JSON: ${e.message}`)); return; }
    out.replaceChildren(h("p", { class: "muted" }, "Invoking…"));
    try {
      const r = await api("lambda", "Invoke", { FunctionName: name, LogType: "Tail", Payload: B64.enc(payload) });
      const log = B64.dec(r.LogResult);
      out.replaceChildren(
        h("p", {}, "Execution result: ", status(r.FunctionError ? "Failed" : "Succeeded"),
          r.FunctionError ? ` (${r.FunctionError})` : "", r.ExecutedVersion ? ` — version ${r.ExecutedVersion}` : ""),
        h("h3", {}, "Response"), h("pre", { id: "test-response" }, B64.dec(r.Payload)),
        h("h3", {}, "Summary"), report(log),
        h("h3", {}, "Log output (last 4 KB)"), h("pre", { id: "test-log" }, log));
    } catch (e) { out.replaceChildren(errorBox(e)); }
  };
  return h("section", { class: "panel" }, h("h2", {}, "Test"),
    h("p", { class: "muted" }, "Invoke the function with this event (RequestResponse, log tail)."),
    event, h("div", { class: "row" }, h("button", { class: "primary", id: "test-button", onclick: run }, "Test")), out);
}

async function functionDetail(name) {
  const fn = await api("lambda", "GetFunction", { FunctionName: name }).catch(e => e);
  if (fn instanceof ApiError) return h("div", {}, h("p", {}, link("#/lambda", "← Functions")), errorBox(fn));
  const c = fn.Configuration;
  const charts = h("div", { class: "charts" });
  metricCharts(charts, "AWS/Lambda", [{ Name: "FunctionName", Value: name }], [
    ["Invocations", "Sum", "Count"], ["Duration", "Average", "Milliseconds"],
    ["Errors", "Sum", "Count"], ["Throttles", "Sum", "Count"], ["ConcurrentExecutions", "Maximum", "Count"],
  ]);
  return h("div", {}, h("p", {}, link("#/lambda", "← Functions")), h("h1", {}, name),
    h("section", { class: "panel" }, h("h2", {}, "Configuration"), kv([
      ["State", status(c.State)], ["Last update", c.LastUpdateStatus], ["ARN", h("span", { class: "mono" }, c.FunctionArn)],
      ["Runtime", c.Runtime], ["Handler", c.Handler], ["Architectures", (c.Architectures || []).join(", ")],
      ["Memory (MB)", c.MemorySize], ["Timeout (s)", c.Timeout], ["Ephemeral storage (MB)", c.EphemeralStorage?.Size],
      ["Role", h("span", { class: "mono" }, c.Role)], ["Code size", c.CodeSize], ["Code SHA-256", c.CodeSha256],
      ["Environment variables", Object.keys(c.Environment?.Variables || {}).join(", ")],
      ["Log group", link(`#/logs/${enc(c.LoggingConfig?.LogGroup || `/aws/lambda/${name}`)}`, c.LoggingConfig?.LogGroup || `/aws/lambda/${name}`)],
      ["Last modified", c.LastModified],
    ])),
    h("section", { class: "panel" }, h("h2", {}, "VPC"), c.VpcConfig?.VpcId ? kv([
      ["VPC", c.VpcConfig.VpcId], ["Subnets", (c.VpcConfig.SubnetIds || []).join(", ")],
      ["Security groups", (c.VpcConfig.SecurityGroupIds || []).join(", ")],
    ]) : h("p", { class: "muted" }, "Not connected to a VPC.")),
    testPanel(name),
    panel("Versions", async () => table([
      ["Version", v => v.Version], ["Description", v => v.Description], ["Code SHA-256", v => v.CodeSha256], ["Last modified", v => v.LastModified],
    ], await all("lambda", "ListVersionsByFunction", { FunctionName: name }, "Versions", "Marker", "NextMarker"))),
    panel("Aliases", async () => table([
      ["Alias", a => a.Name], ["Version", a => a.FunctionVersion], ["Description", a => a.Description],
      ["Weights", a => JSON.stringify(a.RoutingConfig?.AdditionalVersionWeights || {})],
    ], await all("lambda", "ListAliases", { FunctionName: name }, "Aliases", "Marker", "NextMarker"), "No aliases.")),
    h("section", { class: "panel" }, h("h2", {}, "Metrics (last hour, 1-minute periods)"), charts));
}

// ---------------------------------------------------------------- CloudWatch Logs

async function logs(parts) {
  if (parts.length >= 2) return logStream(parts[0], parts.slice(1).join("/"));
  if (parts[0]) return logGroup(parts[0]);
  return h("div", {}, h("h1", {}, "CloudWatch Logs — log groups"),
    panel(null, async () => table([
      ["Log group", g => link(`#/logs/${enc(g.logGroupName)}`, g.logGroupName)],
      ["Retention", g => g.retentionInDays ? `${g.retentionInDays} days` : "Never expire"],
      ["Stored bytes", g => g.storedBytes ?? ""], ["Created", g => when(g.creationTime)],
    ], await all("logs", "DescribeLogGroups", {}, "logGroups", "nextToken"), "No log groups.")));
}

const eventsTable = evs => table([
  ["Time", e => h("span", { class: "mono" }, when(e.timestamp))],
  ["Stream", e => e.logStreamName ? h("span", { class: "mono" }, e.logStreamName) : null],
  ["Message", e => h("pre", { class: "message" }, e.message)],
], evs, "No events.");

function logGroup(group) {
  const pattern = h("input", { id: "filter-pattern", size: 50, placeholder: "Filter pattern, e.g. ERROR or \"Success: Inserted\"" });
  const results = h("div", { id: "filter-results" });
  const search = async () => {
    results.replaceChildren(h("p", { class: "muted" }, "Searching…"));
    try {
      const evs = await all("logs", "FilterLogEvents", { logGroupName: group, filterPattern: pattern.value || undefined }, "events", "nextToken");
      results.replaceChildren(h("p", { class: "muted" }, `${evs.length} events`), eventsTable(evs));
    } catch (e) { results.replaceChildren(errorBox(e)); }
  };
  // Live tail: what `aws logs tail --follow` does, FilterLogEvents from the last event seen, each second.
  const tailBox = h("pre", { class: "tail", id: "live-tail" });
  let tailing = false, since = Date.now() - 60_000, seen = new Set();
  const tailButton = h("button", { id: "tail-button", onclick: () => {
    tailing = !tailing; tailButton.textContent = tailing ? "Stop live tail" : "Start live tail";
    if (tailing) tick();
  } }, "Start live tail");
  const tick = async () => {
    if (!tailing) return;
    try {
      const evs = await all("logs", "FilterLogEvents", { logGroupName: group, startTime: since, filterPattern: pattern.value || undefined }, "events", "nextToken");
      for (const e of evs) {
        if (seen.has(e.eventId)) continue;
        seen.add(e.eventId);
        since = Math.max(since, e.timestamp);
        tailBox.append(`${when(e.timestamp)} ${e.logStreamName} ${e.message.replace(/\n$/, "")}\n`);
      }
      tailBox.scrollTop = tailBox.scrollHeight;
    } catch (e) { tailBox.append(`[${e.message}]\n`); }
  };
  every(1000, tick);
  return h("div", {}, h("p", {}, link("#/logs", "← Log groups")), h("h1", {}, group),
    h("section", { class: "panel" }, h("h2", {}, "Search the log group"),
      h("form", { class: "row", onsubmit: e => { e.preventDefault(); search(); } }, pattern, h("button", { class: "primary", id: "filter-button" }, "Search")),
      results),
    h("section", { class: "panel" }, h("h2", {}, "Live tail"), h("div", { class: "row" }, tailButton), tailBox),
    panel("Log streams", async () => table([
      ["Log stream", s => link(`#/logs/${enc(group)}/${enc(s.logStreamName)}`, s.logStreamName)],
      ["Last event", s => when(s.lastEventTimestamp)], ["Created", s => when(s.creationTime)],
    ], await all("logs", "DescribeLogStreams", { logGroupName: group, orderBy: "LastEventTime", descending: true }, "logStreams", "nextToken"), "No streams.")));
}

function logStream(group, stream) {
  return h("div", {}, h("p", {}, link(`#/logs/${enc(group)}`, `← ${group}`)), h("h1", {}, stream),
    panel("Events", async () => eventsTable((await api("logs", "GetLogEvents", { logGroupName: group, logStreamName: stream, startFromHead: true })).events)));
}

// ---------------------------------------------------------------- IAM (read-only)

const policyNames = (attached, inline) => [
  ...attached.map(p => h("div", { class: "mono" }, p.PolicyArn)),
  ...inline.map(n => h("div", {}, `${n} (inline)`)),
];

async function iam() {
  return h("div", {}, h("h1", {}, "IAM"),
    panel("Roles", async () => {
      const roles = await all("iam", "ListRoles", {}, "Roles", "Marker");
      const rows = await Promise.all(roles.map(async r => ({ ...r,
        attached: await all("iam", "ListAttachedRolePolicies", { RoleName: r.RoleName }, "AttachedPolicies", "Marker"),
        inline: await all("iam", "ListRolePolicies", { RoleName: r.RoleName }, "PolicyNames", "Marker") })));
      return table([["Role", r => r.RoleName], ["ARN", r => h("span", { class: "mono" }, r.Arn)],
        ["Trusted", r => trusted(r.AssumeRolePolicyDocument)], ["Policies", r => policyNames(r.attached, r.inline)],
        ["Created", r => when(r.CreateDate)]], rows, "No roles.");
    }),
    panel("Users", async () => {
      const users = await all("iam", "ListUsers", {}, "Users", "Marker");
      const rows = await Promise.all(users.map(async u => ({ ...u,
        attached: await all("iam", "ListAttachedUserPolicies", { UserName: u.UserName }, "AttachedPolicies", "Marker"),
        inline: await all("iam", "ListUserPolicies", { UserName: u.UserName }, "PolicyNames", "Marker"),
        groups: await all("iam", "ListGroupsForUser", { UserName: u.UserName }, "Groups", "Marker").catch(() => []) })));
      return table([["User", u => u.UserName], ["ARN", u => h("span", { class: "mono" }, u.Arn)],
        ["Groups", u => u.groups.map(g => g.GroupName).join(", ")], ["Policies", u => policyNames(u.attached, u.inline)],
        ["Created", u => when(u.CreateDate)]], rows, "No users.");
    }),
    panel("Customer managed policies", async () => {
      const policies = await all("iam", "ListPolicies", { Scope: "Local" }, "Policies", "Marker");
      const rows = await Promise.all(policies.map(async p => ({ ...p,
        on: await api("iam", "ListEntitiesForPolicy", { PolicyArn: p.Arn }) })));
      return table([["Policy", p => p.PolicyName], ["ARN", p => h("span", { class: "mono" }, p.Arn)],
        ["Attached to", p => [...(p.on.PolicyRoles || []).map(r => `role ${r.RoleName}`), ...(p.on.PolicyUsers || []).map(u => `user ${u.UserName}`),
          ...(p.on.PolicyGroups || []).map(g => `group ${g.GroupName}`)].map(t => h("div", {}, t))],
        ["Version", p => p.DefaultVersionId]], rows, "No customer managed policies.");
    }));
}

function trusted(doc) {
  try {
    const d = JSON.parse(typeof doc === "string" ? decodeURIComponent(doc) : JSON.stringify(doc));
    return (d.Statement || []).flatMap(s => Object.values(s.Principal || {}).flat()).join(", ");
  } catch { return ""; }
}

// ---------------------------------------------------------------- VPC (read-only)

const rule = (p, dir) => {
  const ports = p.IpProtocol === "-1" ? "all traffic" : `${p.IpProtocol} ${p.FromPort === p.ToPort ? p.FromPort : `${p.FromPort}-${p.ToPort}`}`;
  const from = [...(p.IpRanges || []).map(r => r.CidrIp), ...(p.Ipv6Ranges || []).map(r => r.CidrIpv6),
    ...(p.UserIdGroupPairs || []).map(g => g.GroupId), ...(p.PrefixListIds || []).map(l => l.PrefixListId)].join(", ");
  return h("div", { class: "mono" }, `${ports} ${dir} ${from}`);
};

async function vpc() {
  return h("div", {}, h("h1", {}, "VPC"),
    panel("VPCs", async () => table([["VPC", v => v.VpcId], ["CIDR", v => v.CidrBlock], ["Default", v => v.IsDefault ? "yes" : "no"], ["State", v => status(v.State)]],
      await all("ec2", "DescribeVpcs", {}, "Vpcs"), "No VPCs.")),
    panel("Subnets", async () => table([["Subnet", s => s.SubnetId], ["VPC", s => s.VpcId], ["CIDR", s => s.CidrBlock],
      ["Availability zone", s => s.AvailabilityZone], ["Free addresses", s => s.AvailableIpAddressCount]],
      await all("ec2", "DescribeSubnets", {}, "Subnets"), "No subnets.")),
    panel("Security groups", async () => table([["Group", g => `${g.GroupId} (${g.GroupName})`], ["VPC", g => g.VpcId],
      ["Description", g => g.Description], ["Inbound rules", g => (g.IpPermissions || []).map(p => rule(p, "from"))],
      ["Outbound rules", g => (g.IpPermissionsEgress || []).map(p => rule(p, "to"))]],
      await all("ec2", "DescribeSecurityGroups", {}, "SecurityGroups"), "No security groups.")));
}

export const routes = { elasticache, lambda, logs, iam, vpc };
