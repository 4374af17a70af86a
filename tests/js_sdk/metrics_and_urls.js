// CloudWatch metrics and Lambda function URLs through the AWS SDK for JavaScript v3, against
// the endpoint and credentials in the environment (as tutorial_calls.js).
// This client-cloudwatch speaks awsJson1_0 with awsQueryCompatible (X-Amz-Target
// GraniteServiceVersion20100801.*, x-amzn-query-mode: true; error codes from x-amzn-query-error).
// Prints one JSON document: {"ok": bool, "protocol": str, "steps": [{name, ok, ms, detail|error}]}.
import { createHash, createHmac, randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";

import {
  CloudWatchClient, PutMetricDataCommand, GetMetricDataCommand, GetMetricStatisticsCommand, ListMetricsCommand,
  paginateGetMetricData,
} from "@aws-sdk/client-cloudwatch";
import { SignatureV4 } from "@smithy/signature-v4";
import { IAMClient, CreateRoleCommand, DeleteRoleCommand } from "@aws-sdk/client-iam";
import {
  LambdaClient, CreateFunctionCommand, DeleteFunctionCommand, AddPermissionCommand,
  CreateFunctionUrlConfigCommand, GetFunctionUrlConfigCommand, ListFunctionUrlConfigsCommand,
  DeleteFunctionUrlConfigCommand, UpdateFunctionUrlConfigCommand, waitUntilFunctionActiveV2,
} from "@aws-sdk/client-lambda";

import { makeZip } from "./zip.js";

import { clientConfig, endpoint, region, credentials } from "./env.js";
const cw = new CloudWatchClient(clientConfig);
const iam = new IAMClient(clientConfig);
const lambda = new LambdaClient(clientConfig);

// What the SDK puts on the wire for CloudWatch: recorded by a middleware, checked below.
const wire = [];
cw.middlewareStack.add((next) => async (args) => {
  wire.push({ headers: { ...args.request.headers } });
  return next(args);
}, { step: "finalizeRequest", name: "recordWire" });

const suffix = randomBytes(4).toString("hex");
const ns = `js/${suffix}`;
const steps = [];
const state = {};

function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

function describeError(e) {
  return { name: e?.name, message: e?.message, httpStatusCode: e?.$metadata?.httpStatusCode, fault: e?.$fault };
}

async function step(name, fn) {
  const t0 = performance.now();
  try {
    const detail = await fn();
    steps.push({ name, ok: true, ms: Math.round(performance.now() - t0), detail: detail ?? null });
  } catch (e) {
    steps.push({ name, ok: false, ms: Math.round(performance.now() - t0), error: describeError(e) });
  }
}

// An expected service error: the modelled exception class, HTTP status, the query-era code.
async function expectError(promise, name, status, queryCode) {
  try {
    await promise;
  } catch (e) {
    check(e.name === name, `error name ${e.name} (${e.message}), expected ${name}`);
    check(e.$metadata?.httpStatusCode === status, `HTTP ${e.$metadata?.httpStatusCode}, expected ${status}`);
    check(e.$fault === "client", `fault ${e.$fault}`);
    check(typeof e.message === "string" && e.message.length > 0, "error without a message");
    check(typeof e.$metadata?.requestId === "string" && e.$metadata.requestId.length > 0, "no request id");
    if (queryCode !== undefined) check(e.Error?.Code === queryCode, `Error.Code ${e.Error?.Code}, expected ${queryCode}`);
    return { name: e.name, status, message: e.message, code: e.Error?.Code };
  }
  throw new Error(`expected ${name}, the call succeeded`);
}

// A request to a function URL by its Host header on cloudlet's port: Node's fetch (undici)
// silently replaces a Host header with the URL's, so this goes through node:http.
function urlRequest(functionUrl, path, { method = "GET", headers = {}, body } = {}) {
  const api = new URL(endpoint);
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: api.hostname, port: api.port, path, method,
      headers: { ...headers, host: new URL(functionUrl).host },
    }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString() }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

// The SDK's own SigV4 signer (not botocore's) for AWS_IAM function URLs, over node:crypto.
class Sha256 {
  constructor(secret) { this.hash = secret ? createHmac("sha256", secret) : createHash("sha256"); }
  update(data) { this.hash.update(typeof data === "string" ? Buffer.from(data) : data); }
  async digest() { return new Uint8Array(this.hash.digest()); }
}

async function signedUrlRequest(functionUrl, path, query, body, creds) {
  const signer = new SignatureV4({ credentials: creds, region, service: "lambda", sha256: Sha256 });
  const host = new URL(functionUrl).host;
  const signed = await signer.sign({
    method: "POST", protocol: "http:", hostname: host.split(":")[0], port: Number(host.split(":")[1]), path, query,
    headers: { host, "content-type": "application/json" }, body,
  });
  // RFC 3986 encoding, as the signer canonicalizes it (URLSearchParams would send a space as "+").
  const qs = Object.entries(query).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&");
  return { headers: signed.headers, path: qs ? `${path}?${qs}` : path };
}

const minute = (offset) => new Date(Math.floor(Date.now() / 60000) * 60000 + offset * 60000);
const near = (a, b) => Math.abs(a - b) < 1e-9;

const HANDLER = `import json


def lambda_handler(event, context):
    return {"statusCode": 201, "headers": {"x-from": "url"},
            "body": json.dumps({"path": event["rawPath"], "query": event.get("rawQueryString"),
                                "method": event["requestContext"]["http"]["method"], "body": event.get("body")})}
`;
const TRUST = {
  Version: "2012-10-17",
  Statement: [{ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }],
};

async function metrics() {
  const t = minute(-3);
  await step("cloudwatch:PutMetricData (Value, Values/Counts, StatisticValues, dimensions, StorageResolution 1)", async () => {
    const out = await cw.send(new PutMetricDataCommand({
      Namespace: ns,
      MetricData: [
        { MetricName: "Latency", Dimensions: [{ Name: "Api", Value: "get" }], Value: 10, Unit: "Milliseconds", Timestamp: t },
        { MetricName: "Latency", Dimensions: [{ Name: "Api", Value: "get" }], Values: [1, 2, 3], Counts: [1, 1, 2],
          Unit: "Milliseconds", Timestamp: new Date(t.getTime() + 5000) },
        { MetricName: "Latency", Dimensions: [{ Name: "Api", Value: "get" }],
          StatisticValues: { SampleCount: 4, Sum: 400, Minimum: 50, Maximum: 200 }, Unit: "Milliseconds",
          Timestamp: new Date(t.getTime() + 60000) },
        { MetricName: "Hits", Dimensions: [{ Name: "Api", Value: "put" }, { Name: "Stage", Value: "prod" }],
          Value: 7, Unit: "Count", StorageResolution: 1, Timestamp: new Date(t.getTime() + 1500) },
        { MetricName: "Hits", Dimensions: [{ Name: "Api", Value: "put" }, { Name: "Stage", Value: "prod" }],
          Value: 3, Unit: "Count", StorageResolution: 1, Timestamp: new Date(t.getTime() + 2500) },
      ],
    }));
    check(out.$metadata.httpStatusCode === 200, `status ${out.$metadata.httpStatusCode}`);
    const sent = wire.at(-1);
    const target = sent.headers["x-amz-target"];
    check(target === "GraniteServiceVersion20100801.PutMetricData", `X-Amz-Target ${target}`);
    check(sent.headers["content-type"] === "application/x-amz-json-1.0", `Content-Type ${sent.headers["content-type"]}`);
    state.protocol = "json";
    return { target, queryMode: sent.headers["x-amzn-query-mode"] ?? null };
  });

  await step("cloudwatch:PutMetricData over 10 KB goes gzip-compressed (requestcompression) and is read", async () => {
    const data = Array.from({ length: 300 }, (_, i) => ({
      MetricName: "Bulk", Dimensions: [{ Name: "Shard", Value: "one" }], Value: i, Unit: "Count", Timestamp: t,
    }));
    await cw.send(new PutMetricDataCommand({ Namespace: ns, MetricData: data }));
    const sent = wire.at(-1);
    check(sent.headers["content-encoding"] === "gzip", `Content-Encoding ${sent.headers["content-encoding"]}`);
    const out = await cw.send(new GetMetricStatisticsCommand({
      Namespace: ns, MetricName: "Bulk", Dimensions: [{ Name: "Shard", Value: "one" }], StartTime: t, EndTime: minute(0),
      Period: 60, Statistics: ["SampleCount", "Sum", "Maximum"],
    }));
    const [p] = out.Datapoints;
    check(out.Datapoints.length === 1 && p.SampleCount === 300 && p.Sum === 44850 && p.Maximum === 299, `bulk ${JSON.stringify(out.Datapoints)}`);
    return { encoding: "gzip", sampleCount: p.SampleCount };
  });

  await step("cloudwatch:GetMetricStatistics with Statistics and with ExtendedStatistics", async () => {
    const base = { Namespace: ns, MetricName: "Latency", Dimensions: [{ Name: "Api", Value: "get" }],
      StartTime: t, EndTime: minute(0), Period: 60 };
    const out = await cw.send(new GetMetricStatisticsCommand({ ...base, Statistics: ["SampleCount", "Sum", "Minimum", "Maximum", "Average"] }));
    check(out.Label === "Latency", `Label ${out.Label}`);
    const pts = [...out.Datapoints].sort((a, b) => a.Timestamp - b.Timestamp);
    check(pts.length === 2, `${pts.length} datapoints`);
    check(pts[0].Timestamp instanceof Date && pts[0].Timestamp.getTime() === t.getTime(), `Timestamp ${pts[0].Timestamp}`);
    // 10 and 1, 2, 3, 3: n=5, sum=19.
    check(pts[0].SampleCount === 5 && pts[0].Sum === 19 && pts[0].Minimum === 1 && pts[0].Maximum === 10,
      `first minute ${JSON.stringify(pts[0])}`);
    check(near(pts[0].Average, 3.8) && pts[0].Unit === "Milliseconds", `average/unit ${JSON.stringify(pts[0])}`);
    check(pts[1].SampleCount === 4 && pts[1].Sum === 400 && pts[1].Average === 100, `second minute ${JSON.stringify(pts[1])}`);
    const ext = await cw.send(new GetMetricStatisticsCommand({ ...base, ExtendedStatistics: ["p50", "p100"] }));
    const first = ext.Datapoints.find((d) => d.Timestamp.getTime() === t.getTime());
    check(first?.ExtendedStatistics?.p100 === 10, `p100 ${JSON.stringify(first)}`);
    check(typeof first.ExtendedStatistics.p50 === "number", `p50 ${JSON.stringify(first)}`);
    check(first.SampleCount === undefined, "ExtendedStatistics alone must not return SampleCount");
    return { basic: pts.length, ext: first.ExtendedStatistics };
  });

  await step("cloudwatch:GetMetricData (MetricStat at 1 s and 60 s, an expression)", async () => {
    const hits = { Namespace: ns, MetricName: "Hits", Dimensions: [{ Name: "Api", Value: "put" }, { Name: "Stage", Value: "prod" }] };
    const out = await cw.send(new GetMetricDataCommand({
      StartTime: t, EndTime: minute(0), ScanBy: "TimestampAscending",
      MetricDataQueries: [
        { Id: "perSecond", MetricStat: { Metric: hits, Period: 1, Stat: "Sum" } },
        { Id: "perMinute", MetricStat: { Metric: hits, Period: 60, Stat: "Sum" }, ReturnData: false },
        { Id: "doubled", Expression: "perMinute * 2", Label: "twice" },
      ],
    }));
    const byId = Object.fromEntries(out.MetricDataResults.map((r) => [r.Id, r]));
    check(!("perMinute" in byId), "ReturnData false came back");
    const ps = byId.perSecond;
    check(ps.StatusCode === "Complete", `StatusCode ${ps.StatusCode}`);
    check(ps.Values.length === 2 && ps.Values[0] === 7 && ps.Values[1] === 3, `per-second values ${JSON.stringify(ps.Values)}`);
    check(ps.Timestamps[0].getTime() === t.getTime() + 1000 && ps.Timestamps[1].getTime() === t.getTime() + 2000,
      `per-second stamps ${JSON.stringify(ps.Timestamps)}`);
    check(ps.Label === "Hits Sum 1" || ps.Label === "Hits 1" || ps.Label === "Hits", `label ${ps.Label}`);
    const d = byId.doubled;
    check(d.Label === "twice" && d.Values.length === 1 && d.Values[0] === 20, `expression ${JSON.stringify(d)}`);
    check(d.Timestamps[0].getTime() === t.getTime(), `expression stamp ${d.Timestamps[0]}`);
    // Two pages of one value each, through the SDK's paginator (NextToken, MaxDatapoints).
    const pages = [];
    for await (const page of paginateGetMetricData({ client: cw }, {
      StartTime: t, EndTime: minute(0), ScanBy: "TimestampAscending", MaxDatapoints: 1,
      MetricDataQueries: [{ Id: "perSecond", MetricStat: { Metric: hits, Period: 1, Stat: "Sum" } }],
    })) {
      pages.push(page.MetricDataResults.flatMap((r) => r.Values));
      check(pages.length <= 3, "the paginator does not stop");
    }
    check(JSON.stringify(pages.flat()) === "[7,3]" && pages[0].length === 1, `pages ${JSON.stringify(pages)}`);
    return { perSecond: ps.Values, doubled: d.Values, pages };
  });

  await step("cloudwatch:ListMetrics by namespace, name and dimension filter", async () => {
    const all = await cw.send(new ListMetricsCommand({ Namespace: ns }));
    const names = all.Metrics.map((m) => m.MetricName).sort();
    check(JSON.stringify(names) === JSON.stringify(["Bulk", "Hits", "Latency"]), `metrics ${JSON.stringify(names)}`);
    const filtered = await cw.send(new ListMetricsCommand({ Namespace: ns, Dimensions: [{ Name: "Stage", Value: "prod" }] }));
    check(filtered.Metrics.length === 1 && filtered.Metrics[0].MetricName === "Hits", `filtered ${JSON.stringify(filtered.Metrics)}`);
    const dims = filtered.Metrics[0].Dimensions.map((x) => `${x.Name}=${x.Value}`).sort();
    check(JSON.stringify(dims) === JSON.stringify(["Api=put", "Stage=prod"]), `dimensions ${dims}`);
    const byName = await cw.send(new ListMetricsCommand({ Namespace: ns, MetricName: "Latency", Dimensions: [{ Name: "Api" }] }));
    check(byName.Metrics.length === 1, `by name ${JSON.stringify(byName.Metrics)}`);
    return { names };
  });

  await step("error: cloudwatch PutMetricData to AWS/ namespace -> InvalidParameterValueException 400", async () => {
    const e = await expectError(cw.send(new PutMetricDataCommand({
      Namespace: "AWS/Lambda", MetricData: [{ MetricName: "Fake", Value: 1 }],
    })), "InvalidParameterValueException", 400, "InvalidParameterValue");
    check(e.message.includes("AWS/Lambda"), e.message);
    return e;
  });
  await step("error: cloudwatch GetMetricStatistics Period 45 -> InvalidParameterValueException 400", () =>
    expectError(cw.send(new GetMetricStatisticsCommand({
      Namespace: ns, MetricName: "Latency", StartTime: t, EndTime: minute(0), Period: 45, Statistics: ["Sum"],
    })), "InvalidParameterValueException", 400, "InvalidParameterValue"));
  await step("error: cloudwatch GetMetricStatistics Statistics and ExtendedStatistics -> InvalidParameterCombinationException 400", () =>
    expectError(cw.send(new GetMetricStatisticsCommand({
      Namespace: ns, MetricName: "Latency", StartTime: t, EndTime: minute(0), Period: 60, Statistics: ["Sum"],
      ExtendedStatistics: ["p90"],
    })), "InvalidParameterCombinationException", 400, "InvalidParameterCombination"));
  await step("error: cloudwatch GetMetricData without queries -> MissingRequiredParameterException 400", () =>
    expectError(cw.send(new GetMetricDataCommand({ StartTime: t, EndTime: minute(0), MetricDataQueries: [] })),
      "MissingRequiredParameterException", 400, "MissingParameter"));
}

async function functionUrls() {
  const fn = `JsUrl${suffix}`;
  const roleName = `js-url-role-${suffix}`;
  await step("lambda:CreateFunction for a URL", async () => {
    const role = await iam.send(new CreateRoleCommand({ RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(TRUST) }));
    state.roleArn = role.Role.Arn;
    const out = await lambda.send(new CreateFunctionCommand({
      FunctionName: fn, Runtime: "python3.12", Role: state.roleArn, Handler: "app.lambda_handler",
      Code: { ZipFile: makeZip({ "app.py": HANDLER }) }, Timeout: 30,
    }));
    state.functionArn = out.FunctionArn;
    await waitUntilFunctionActiveV2({ client: lambda, maxWaitTime: 120 }, { FunctionName: fn });
  });

  await step("lambda:CreateFunctionUrlConfig/GetFunctionUrlConfig/ListFunctionUrlConfigs", async () => {
    const created = await lambda.send(new CreateFunctionUrlConfigCommand({
      FunctionName: fn, AuthType: "NONE", Cors: { AllowOrigins: ["https://example.com"], AllowMethods: ["GET", "POST"], MaxAge: 60 },
    }));
    check(created.$metadata.httpStatusCode === 201, `create status ${created.$metadata.httpStatusCode}`);
    check(/^http:\/\/[a-z0-9]{32}\.lambda-url\.[a-z0-9-]+\.localhost:\d+\/$/.test(created.FunctionUrl), `FunctionUrl ${created.FunctionUrl}`);
    check(created.FunctionArn === state.functionArn, `FunctionArn ${created.FunctionArn}`);
    check(created.AuthType === "NONE" && created.Cors?.MaxAge === 60, `config ${JSON.stringify(created)}`);
    check(!Number.isNaN(Date.parse(created.CreationTime)), `CreationTime ${created.CreationTime}`);
    state.url = created.FunctionUrl;
    const got = await lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: fn }));
    check(got.FunctionUrl === state.url && got.InvokeMode === "BUFFERED", `get ${JSON.stringify(got)}`);
    check(JSON.stringify(got.Cors.AllowOrigins) === '["https://example.com"]', `cors ${JSON.stringify(got.Cors)}`);
    const list = await lambda.send(new ListFunctionUrlConfigsCommand({ FunctionName: fn }));
    check(list.FunctionUrlConfigs.length === 1 && list.FunctionUrlConfigs[0].FunctionUrl === state.url,
      `list ${JSON.stringify(list.FunctionUrlConfigs)}`);
    return { url: state.url };
  });

  await step("error: lambda CreateFunctionUrlConfig twice -> ResourceConflictException 409", () =>
    expectError(lambda.send(new CreateFunctionUrlConfigCommand({ FunctionName: fn, AuthType: "NONE" })),
      "ResourceConflictException", 409));

  await step("http: the URL without a public permission -> 403 Forbidden", async () => {
    const res = await urlRequest(state.url, "/x");
    check(res.status === 403, `status ${res.status}: ${res.text}`);
    check(JSON.parse(res.text).Message === "Forbidden", `body ${res.text}`);
  });

  await step("http: the URL by Host header; fetch by its *.localhost name", async () => {
    await lambda.send(new AddPermissionCommand({
      FunctionName: fn, StatementId: "public-url", Action: "lambda:InvokeFunctionUrl", Principal: "*",
      FunctionUrlAuthType: "NONE",
    }));
    // Lambda also requires InvokeFunction via the URL for URLs made since October 2025.
    const one = await urlRequest(state.url, "/");
    check(one.status === 403, `with InvokeFunctionUrl alone: ${one.status}`);
    await lambda.send(new AddPermissionCommand({
      FunctionName: fn, StatementId: "public-invoke", Action: "lambda:InvokeFunction", Principal: "*",
      InvokedViaFunctionUrl: true,
    }));
    const res = await urlRequest(state.url, "/hello/there?a=1&b=2", {
      method: "POST", headers: { "content-type": "application/json", origin: "https://example.com" },
      body: JSON.stringify({ k: "v" }),
    });
    check(res.status === 201, `status ${res.status}: ${res.text}`);
    check(res.headers["x-from"] === "url", `x-from ${res.headers["x-from"]}`);
    check(res.headers["access-control-allow-origin"] === "https://example.com",
      `allow-origin ${res.headers["access-control-allow-origin"]}`);
    check(typeof res.headers["x-amzn-requestid"] === "string", "no x-amzn-RequestId");
    const body = JSON.parse(res.text);
    check(body.path === "/hello/there" && body.query === "a=1&b=2" && body.method === "POST", `event ${res.text}`);
    check(body.body === '{"k":"v"}', `event body ${body.body}`);
    // By name: only where the system resolver maps *.localhost to loopback (nss-myhostname);
    // Node has no built-in rule for it, unlike curl and browsers.
    let byName;
    try {
      byName = await fetch(new URL("/by-name", state.url));
    } catch (e) {
      return { byName: `not resolvable on this machine: ${e.cause?.code ?? e.message}` };
    }
    check(byName.status === 201, `by name: status ${byName.status}`);
    check((await byName.json()).path === "/by-name", "by name: path");
    return { byName: "ok" };
  });

  await step("http: AWS_IAM URL signed by @smithy/signature-v4; unsigned, wrong key, tampered body refused", async () => {
    const updated = await lambda.send(new UpdateFunctionUrlConfigCommand({ FunctionName: fn, AuthType: "AWS_IAM" }));
    check(updated.AuthType === "AWS_IAM" && updated.FunctionUrl === state.url, `update ${JSON.stringify(updated)}`);
    const body = JSON.stringify({ signed: true });
    const unsigned = await urlRequest(state.url, "/iam", { method: "POST", headers: { "content-type": "application/json" }, body });
    check(unsigned.status === 403, `unsigned: ${unsigned.status} ${unsigned.text}`);
    const good = await signedUrlRequest(state.url, "/iam", { q: "a b" }, body, credentials);
    const ok = await urlRequest(state.url, good.path, { method: "POST", headers: good.headers, body });
    check(ok.status === 201, `signed: ${ok.status} ${ok.text}`);
    const event = JSON.parse(ok.text);
    check(event.path === "/iam" && event.query === "q=a%20b" && event.body === body, `signed event ${ok.text}`);
    const wrongKey = await signedUrlRequest(state.url, "/iam", {}, body,
      { accessKeyId: credentials.accessKeyId, secretAccessKey: "not-the-secret" });
    const refused = await urlRequest(state.url, wrongKey.path, { method: "POST", headers: wrongKey.headers, body });
    check(refused.status === 403, `wrong secret: ${refused.status} ${refused.text}`);
    const tampered = await urlRequest(state.url, good.path, { method: "POST", headers: good.headers, body: body.replace("true", "1") });
    check(tampered.status === 403, `tampered body: ${tampered.status} ${tampered.text}`);
    return { signed: ok.status, unsigned: unsigned.status, wrongKey: refused.status, tampered: tampered.status };
  });

  await step("lambda:DeleteFunctionUrlConfig, then Get -> ResourceNotFoundException 404", async () => {
    const del = await lambda.send(new DeleteFunctionUrlConfigCommand({ FunctionName: fn }));
    check(del.$metadata.httpStatusCode === 204, `delete status ${del.$metadata.httpStatusCode}`);
    await expectError(lambda.send(new GetFunctionUrlConfigCommand({ FunctionName: fn })), "ResourceNotFoundException", 404);
    const res = await urlRequest(state.url, "/");
    check(res.status === 403 || res.status === 404, `deleted URL answers ${res.status}: ${res.text}`);
    return { afterDelete: res.status };
  });

  await step("cleanup: lambda DeleteFunction, iam DeleteRole", async () => {
    await lambda.send(new DeleteFunctionCommand({ FunctionName: fn }));
    await iam.send(new DeleteRoleCommand({ RoleName: roleName }));
  });
}

async function main() {
  await metrics();
  await functionUrls();
  const ok = steps.every((s) => s.ok);
  console.log(JSON.stringify({ ok, protocol: state.protocol ?? null, steps }, null, 1));
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.log(JSON.stringify({ ok: false, protocol: null, steps: [...steps, { name: "main", ok: false, error: describeError(e) }] }));
  process.exit(1);
});
