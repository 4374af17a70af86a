// The tutorial's control-plane calls through the AWS SDK for JavaScript v3, against the
// endpoint and credentials in the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY, AWS_REGION or AWS_DEFAULT_REGION).
// Prints one JSON document: {"ok": bool, "steps": [{name, ok, ms, detail|error}]}, and
// exits 1 when any step failed. Cleanup steps run whatever happened before them.
import { randomBytes } from "node:crypto";
import { makeZip } from "./zip.js";

import { STSClient, GetCallerIdentityCommand, AssumeRoleCommand } from "@aws-sdk/client-sts";
import {
  IAMClient, CreateRoleCommand, CreatePolicyCommand, AttachRolePolicyCommand, GetRoleCommand,
  ListAttachedRolePoliciesCommand, DetachRolePolicyCommand, DeleteRoleCommand, DeletePolicyCommand,
} from "@aws-sdk/client-iam";
import {
  EC2Client, DescribeVpcsCommand, DescribeSubnetsCommand, DescribeSecurityGroupsCommand,
} from "@aws-sdk/client-ec2";
import {
  ElastiCacheClient, CreateServerlessCacheCommand, DescribeServerlessCachesCommand, CreateUserCommand,
  CreateUserGroupCommand, DescribeUserGroupsCommand, ModifyServerlessCacheCommand,
  DeleteServerlessCacheCommand, DeleteUserGroupCommand, DeleteUserCommand, ListTagsForResourceCommand,
} from "@aws-sdk/client-elasticache";
import {
  LambdaClient, CreateFunctionCommand, GetFunctionCommand, GetFunctionConfigurationCommand, InvokeCommand,
  DeleteFunctionCommand,
  waitUntilFunctionActiveV2,
} from "@aws-sdk/client-lambda";
import {
  CloudWatchLogsClient, FilterLogEventsCommand, DescribeLogGroupsCommand,
} from "@aws-sdk/client-cloudwatch-logs";

import { clientConfig, endpoint, region, credentials } from "./env.js";
const sts = new STSClient(clientConfig);
const iam = new IAMClient(clientConfig);
const ec2 = new EC2Client(clientConfig);
const elasticache = new ElastiCacheClient(clientConfig);
const lambda = new LambdaClient(clientConfig);
const logs = new CloudWatchLogsClient(clientConfig);

// Names unique per run: the server may be shared with other tests.
const suffix = randomBytes(4).toString("hex");
const cacheName = `js-cache-${suffix}`;
const roleName = `js-role-${suffix}`;
const policyName = `js-policy-${suffix}`;
const iamUserId = `js-iam-user-${suffix}`;
const defaultUserId = `js-default-${suffix}`;
const userGroupId = `js-group-${suffix}`;
const functionName = `JsSdk${suffix}`;
const marker = `js-sdk-${suffix}`;

const steps = [];
const state = {};

function check(cond, message) {
  if (!cond) throw new Error(`check failed: ${message}`);
}

function describeError(e) {
  return {
    name: e?.name, message: e?.message, httpStatusCode: e?.$metadata?.httpStatusCode,
    requestId: e?.$metadata?.requestId, fault: e?.$fault,
  };
}

async function step(name, fn) {
  const t0 = performance.now();
  try {
    const detail = await fn();
    steps.push({ name, ok: true, ms: Math.round(performance.now() - t0), detail: detail ?? null });
    return true;
  } catch (e) {
    steps.push({ name, ok: false, ms: Math.round(performance.now() - t0), error: describeError(e) });
    return false;
  }
}

// An expected service error: the SDK's modelled exception class name and HTTP status.
async function expectError(promise, name, status) {
  try {
    await promise;
  } catch (e) {
    check(e.name === name, `error name ${e.name} (${e.message}), expected ${name}`);
    check(e.$metadata?.httpStatusCode === status, `HTTP ${e.$metadata?.httpStatusCode}, expected ${status}`);
    check(typeof e.message === "string" && e.message.length > 0, "error without a message");
    check(typeof e.$metadata?.requestId === "string" && e.$metadata.requestId.length > 0, "error without a request id");
    return { name: e.name, status, message: e.message };
  }
  throw new Error(`expected ${name}, the call succeeded`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitCache(status, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let seen = "";
  while (Date.now() < deadline) {
    const out = await elasticache.send(new DescribeServerlessCachesCommand({ ServerlessCacheName: cacheName }));
    seen = out.ServerlessCaches?.[0]?.Status;
    if (seen === status) return out.ServerlessCaches[0];
    await sleep(500);
  }
  throw new Error(`cache ${cacheName} is '${seen}', not '${status}', after ${timeoutMs} ms`);
}

const HANDLER = `import json
import os


def lambda_handler(event, context):
    print(f"{event['marker']}: hello from {os.environ['GREETING_FROM']}")
    return {"echo": event, "function": context.function_name}
`;

const TRUST_POLICY = {
  Version: "2012-10-17",
  Statement: [
    { Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" },
    { Effect: "Allow", Principal: { AWS: "arn:aws:iam::123456789012:root" }, Action: ["sts:AssumeRole", "sts:TagSession"] },
  ],
};
const CONNECT_POLICY = {
  Version: "2012-10-17",
  Statement: [{
    Effect: "Allow",
    Action: ["elasticache:Connect"],
    Resource: [
      `arn:aws:elasticache:${region}:123456789012:serverlesscache:${cacheName}`,
      `arn:aws:elasticache:${region}:123456789012:user:${iamUserId}`,
    ],
  }],
};
const VPC_ACCESS = "arn:aws:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole";

async function main() {
  await step("sts:GetCallerIdentity", async () => {
    const out = await sts.send(new GetCallerIdentityCommand({}));
    check(/^\d{12}$/.test(out.Account ?? ""), `Account ${out.Account}`);
    check(out.Arn?.startsWith(`arn:aws:iam::${out.Account}:`), `Arn ${out.Arn}`);
    check(out.UserId, "no UserId");
    check(out.$metadata.httpStatusCode === 200, "status");
    state.account = out.Account;
    return { Account: out.Account, Arn: out.Arn };
  });

  await step("elasticache:CreateServerlessCache", async () => {
    const out = await elasticache.send(new CreateServerlessCacheCommand({
      ServerlessCacheName: cacheName, Description: "ElastiCache IAM auth application", Engine: "valkey",
      Tags: [{ Key: "project", Value: "cloudlet" }, { Key: "sdk", Value: "js v3" }],
    }));
    const c = out.ServerlessCache;
    check(c?.ServerlessCacheName === cacheName, "name");
    check(c.Status === "creating", `status ${c.Status}`);
    check(c.CreateTime instanceof Date && !Number.isNaN(c.CreateTime.getTime()), `CreateTime ${c.CreateTime}`);
    check(c.ARN?.endsWith(`:serverlesscache:${cacheName}`), `ARN ${c.ARN}`);
    state.cacheArn = c.ARN;
    return { Status: c.Status, ARN: c.ARN };
  });

  await step("elasticache:DescribeServerlessCaches until available", async () => {
    const c = await waitCache("available", 120_000);
    check(c.Endpoint?.Address && Number.isInteger(c.Endpoint.Port), `endpoint ${JSON.stringify(c.Endpoint)}`);
    check(Array.isArray(c.SubnetIds) && Array.isArray(c.SecurityGroupIds), "SubnetIds/SecurityGroupIds lists");
    return { Endpoint: c.Endpoint, ReaderEndpoint: c.ReaderEndpoint };
  });

  await step("elasticache:ListTagsForResource", async () => {
    const out = await elasticache.send(new ListTagsForResourceCommand({ ResourceName: state.cacheArn }));
    const tags = Object.fromEntries((out.TagList ?? []).map((t) => [t.Key, t.Value]));
    check(tags.project === "cloudlet" && tags.sdk === "js v3", `tags ${JSON.stringify(out.TagList)}`);
    return tags;
  });

  await step("iam:CreateRole/CreatePolicy/AttachRolePolicy", async () => {
    const role = await iam.send(new CreateRoleCommand({
      RoleName: roleName, AssumeRolePolicyDocument: JSON.stringify(TRUST_POLICY),
      Description: "role for the JS SDK test", Tags: [{ Key: "sdk", Value: "js" }],
    }));
    check(role.Role?.Arn === `arn:aws:iam::${state.account}:role/${roleName}`, `role ARN ${role.Role?.Arn}`);
    check(role.Role.CreateDate instanceof Date && !Number.isNaN(role.Role.CreateDate.getTime()), "CreateDate");
    state.roleArn = role.Role.Arn;
    const policy = await iam.send(new CreatePolicyCommand({
      PolicyName: policyName, PolicyDocument: JSON.stringify(CONNECT_POLICY),
    }));
    check(policy.Policy?.Arn === `arn:aws:iam::${state.account}:policy/${policyName}`, `policy ARN ${policy.Policy?.Arn}`);
    check(policy.Policy.DefaultVersionId === "v1" && policy.Policy.IsAttachable === true, "policy fields");
    state.policyArn = policy.Policy.Arn;
    await iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: state.policyArn }));
    await iam.send(new AttachRolePolicyCommand({ RoleName: roleName, PolicyArn: VPC_ACCESS }));
    const attached = await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: roleName }));
    const arns = (attached.AttachedPolicies ?? []).map((p) => p.PolicyArn).sort();
    check(JSON.stringify(arns) === JSON.stringify([VPC_ACCESS, state.policyArn].sort()), `attached ${arns}`);
    const got = await iam.send(new GetRoleCommand({ RoleName: roleName }));
    const trust = JSON.parse(decodeURIComponent(got.Role.AssumeRolePolicyDocument));
    check(got.Role.AssumeRolePolicyDocument.startsWith("%7B"), "AssumeRolePolicyDocument is URL-encoded, as IAM sends it");
    check(JSON.stringify(trust) === JSON.stringify(TRUST_POLICY), "trust policy round trip");
    check(got.Role.Tags?.[0]?.Key === "sdk", `role tags ${JSON.stringify(got.Role.Tags)}`);
    return { role: state.roleArn, policy: state.policyArn, attached: arns };
  });

  await step("sts:AssumeRole, then calls signed with the session token", async () => {
    const out = await sts.send(new AssumeRoleCommand({
      RoleArn: state.roleArn, RoleSessionName: "js@session=1", DurationSeconds: 900,
      Tags: [{ Key: "team", Value: "a b+c" }],
    }));
    const c = out.Credentials;
    check(c?.SessionToken && c.Expiration instanceof Date && c.Expiration > new Date(), "session credentials");
    const session = { ...clientConfig, credentials: { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken } };
    const me = await new STSClient(session).send(new GetCallerIdentityCommand({}));
    check(me.Arn === `arn:aws:sts::${state.account}:assumed-role/${roleName}/js@session=1`, `session ARN ${me.Arn}`);
    // AWSLambdaVPCAccessExecutionRole allows ec2:DescribeSubnets and nothing in IAM.
    const subnets = await new EC2Client(session).send(new DescribeSubnetsCommand({}));
    check(subnets.Subnets?.length > 0, "DescribeSubnets as the role");
    const denied = await expectError(new IAMClient(session).send(new GetRoleCommand({ RoleName: roleName })), "AccessDenied", 403);
    check(denied.message.includes("iam:GetRole") && denied.message.includes(me.Arn), `denial wording: ${denied.message}`);
    return { Arn: me.Arn, denied: denied.message };
  });

  await step("elasticache:CreateUser/CreateUserGroup/ModifyServerlessCache", async () => {
    const def = await elasticache.send(new CreateUserCommand({
      UserId: defaultUserId, UserName: "default", Engine: "redis",
      AuthenticationMode: { Type: "no-password-required" }, AccessString: "off +get ~keys*",
    }));
    check(def.UserId === defaultUserId && def.Authentication?.Type === "no-password", `default user ${JSON.stringify(def.Authentication)}`);
    const user = await elasticache.send(new CreateUserCommand({
      UserId: iamUserId, UserName: iamUserId, Engine: "redis",
      AuthenticationMode: { Type: "iam" }, AccessString: "on ~* +@all",
    }));
    check(user.Authentication?.Type === "iam" && user.Status === "active", `iam user ${user.Status} ${JSON.stringify(user.Authentication)}`);
    const group = await elasticache.send(new CreateUserGroupCommand({
      UserGroupId: userGroupId, Engine: "redis", UserIds: [defaultUserId, iamUserId],
    }));
    check(JSON.stringify([...(group.UserIds ?? [])].sort()) === JSON.stringify([defaultUserId, iamUserId].sort()), `group users ${group.UserIds}`);
    const modified = await elasticache.send(new ModifyServerlessCacheCommand({
      ServerlessCacheName: cacheName, UserGroupId: userGroupId,
    }));
    check(modified.ServerlessCache?.ServerlessCacheName === cacheName, "modify answer");
    const c = await waitCache("available", 120_000);
    check(c.UserGroupId === userGroupId, `cache user group ${c.UserGroupId}`);
    const groups = await elasticache.send(new DescribeUserGroupsCommand({ UserGroupId: userGroupId }));
    check(groups.UserGroups?.[0]?.ServerlessCaches?.includes(cacheName), `group caches ${JSON.stringify(groups.UserGroups?.[0]?.ServerlessCaches)}`);
    return { group: userGroupId, cacheStatus: c.Status };
  });

  await step("ec2:DescribeVpcs/Subnets/SecurityGroups with filters", async () => {
    const vpcs = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "isDefault", Values: ["true"] }] }));
    check(vpcs.Vpcs?.length === 1 && vpcs.Vpcs[0].IsDefault === true, `default VPCs ${JSON.stringify(vpcs.Vpcs)}`);
    const vpcId = vpcs.Vpcs[0].VpcId;
    const subnets = await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: "vpc-id", Values: [vpcId] }] }));
    check(subnets.Subnets?.length > 0 && subnets.Subnets.every((s) => s.VpcId === vpcId), "subnets of the VPC");
    check(subnets.Subnets.every((s) => Number.isInteger(s.AvailableIpAddressCount) && typeof s.DefaultForAz === "boolean"), "subnet field types");
    const twoFilters = await ec2.send(new DescribeSecurityGroupsCommand({
      Filters: [{ Name: "vpc-id", Values: [vpcId] }, { Name: "group-name", Values: ["default"] }],
    }));
    check(twoFilters.SecurityGroups?.length === 1 && twoFilters.SecurityGroups[0].GroupName === "default", "default SG");
    const none = await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: "isDefault", Values: ["false"] }, { Name: "vpc-id", Values: [vpcId] }] }));
    check((none.Vpcs ?? []).length === 0, "filters are ANDed");
    state.subnetIds = subnets.Subnets.map((s) => s.SubnetId);
    state.sgId = twoFilters.SecurityGroups[0].GroupId;
    return { vpcId, subnets: state.subnetIds, sg: state.sgId };
  });

  await step("lambda:CreateFunction (zip built in Node) + waitUntilFunctionActiveV2", async () => {
    const zip = makeZip({ "app.py": HANDLER });
    const out = await lambda.send(new CreateFunctionCommand({
      FunctionName: functionName, Runtime: "python3.12", Role: state.roleArn, Handler: "app.lambda_handler",
      Code: { ZipFile: zip }, Timeout: 30, MemorySize: 256,
      Environment: { Variables: { GREETING_FROM: "the JS SDK" } },
      VpcConfig: { SubnetIds: state.subnetIds, SecurityGroupIds: [state.sgId] },
      Tags: { sdk: "js", "with space": "a value/with=odd chars" },
    }));
    check(out.FunctionName === functionName && out.State === "Pending", `state ${out.State}`);
    check(out.CodeSize === zip.length, `CodeSize ${out.CodeSize} != ${zip.length}`);
    check(out.VpcConfig?.SubnetIds?.length === state.subnetIds.length, "VpcConfig echo");
    const waited = await waitUntilFunctionActiveV2(
      { client: lambda, maxWaitTime: 60, minDelay: 1, maxDelay: 2 }, { FunctionName: functionName });
    check(waited.state === "SUCCESS", `waiter ${waited.state}`);
    const got = await lambda.send(new GetFunctionCommand({ FunctionName: functionName }));
    check(got.Configuration?.State === "Active", `state ${got.Configuration?.State}`);
    check(got.Tags?.["with space"] === "a value/with=odd chars", `tags ${JSON.stringify(got.Tags)}`);
    check(got.Configuration.Environment?.Variables?.GREETING_FROM === "the JS SDK", "environment");
    return { State: got.Configuration.State, CodeSize: out.CodeSize };
  });

  await step("lambda:Invoke", async () => {
    const event = { marker, nested: { list: [1, 2, 3] }, text: "é ✓ \u2028" };
    const out = await lambda.send(new InvokeCommand({
      FunctionName: functionName, Payload: new TextEncoder().encode(JSON.stringify(event)),
    }));
    check(out.StatusCode === 200, `StatusCode ${out.StatusCode}`);
    check(!out.FunctionError, `FunctionError ${out.FunctionError}: ${new TextDecoder().decode(out.Payload)}`);
    check(out.ExecutedVersion === "$LATEST", `ExecutedVersion ${out.ExecutedVersion}`);
    const payload = JSON.parse(new TextDecoder().decode(out.Payload));
    check(JSON.stringify(payload.echo) === JSON.stringify(event) && payload.function === functionName, `payload ${JSON.stringify(payload)}`);
    return payload;
  });

  await step("lambda by ARN and $LATEST qualifier: GetFunctionConfiguration, Invoke Tail/Event/DryRun", async () => {
    const arn = `arn:aws:lambda:${region}:${state.account}:function:${functionName}`;
    const conf = await lambda.send(new GetFunctionConfigurationCommand({ FunctionName: arn, Qualifier: "$LATEST" }));
    // Named with Qualifier $LATEST, the configuration carries the qualified ARN (as AWS answers it).
    check(conf.FunctionArn === `${arn}:$LATEST` && conf.Version === "$LATEST", `configuration ${conf.FunctionArn} ${conf.Version}`);
    const tail = await lambda.send(new InvokeCommand({
      FunctionName: arn, Qualifier: "$LATEST", LogType: "Tail",
      Payload: new TextEncoder().encode(JSON.stringify({ marker: `${marker}-tail` })),
    }));
    const log = Buffer.from(tail.LogResult ?? "", "base64").toString("utf8");
    check(tail.StatusCode === 200 && log.includes(`${marker}-tail: hello from the JS SDK`) && log.includes("REPORT RequestId:"), `LogResult ${log}`);
    const event = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "Event", Payload: new TextEncoder().encode("{}") }));
    check(event.StatusCode === 202, `Event StatusCode ${event.StatusCode}`);
    const dry = await lambda.send(new InvokeCommand({ FunctionName: functionName, InvocationType: "DryRun" }));
    check(dry.StatusCode === 204, `DryRun StatusCode ${dry.StatusCode}`);
    return { tailLines: log.trim().split("\n").length };
  });

  await step("logs:FilterLogEvents", async () => {
    const group = `/aws/lambda/${functionName}`;
    const want = `${marker}: hello from the JS SDK`;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const out = await logs.send(new FilterLogEventsCommand({ logGroupName: group, filterPattern: `"${marker}"` }));
      const hit = (out.events ?? []).find((e) => e.message?.includes(want));
      if (hit) {
        check(Number.isInteger(hit.timestamp) && Number.isInteger(hit.ingestionTime), "event timestamps");
        check(hit.logStreamName && hit.eventId, "event stream and id");
        const groups = await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: group }));
        check(groups.logGroups?.[0]?.logGroupName === group, "log group listed");
        return { message: hit.message.trim(), logStreamName: hit.logStreamName };
      }
      await sleep(500);
    }
    throw new Error(`no '${want}' in ${group}`);
  });

  // One modelled error per service, with AWS's exception name and HTTP status.
  await step("error: iam GetRole missing -> NoSuchEntityException 404", () =>
    expectError(iam.send(new GetRoleCommand({ RoleName: `missing-${suffix}` })), "NoSuchEntityException", 404));
  await step("error: elasticache DescribeServerlessCaches missing -> ServerlessCacheNotFoundFault 404", () =>
    expectError(elasticache.send(new DescribeServerlessCachesCommand({ ServerlessCacheName: `missing-${suffix}` })),
      "ServerlessCacheNotFoundFault", 404));
  await step("error: lambda GetFunction missing -> ResourceNotFoundException 404", () =>
    expectError(lambda.send(new GetFunctionCommand({ FunctionName: `missing-${suffix}` })), "ResourceNotFoundException", 404));
  await step("error: logs FilterLogEvents missing group -> ResourceNotFoundException 400", () =>
    expectError(logs.send(new FilterLogEventsCommand({ logGroupName: `/missing/${suffix}` })), "ResourceNotFoundException", 400));
  await step("error: ec2 DescribeVpcs unknown id -> InvalidVpcID.NotFound 400", () =>
    expectError(ec2.send(new DescribeVpcsCommand({ VpcIds: ["vpc-0123456789abcdef0"] })), "InvalidVpcID.NotFound", 400));
  // The JS SDK does not validate input client-side: these reach cloudlet's validation.
  await step("error: iam CreateRole without its policy document -> ValidationError 400", async () => {
    const e = await expectError(iam.send(new CreateRoleCommand({ RoleName: `missing-doc-${suffix}` })), "ValidationError", 400);
    check(e.message === "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null", e.message);
    return e;
  });
  await step("error: lambda CreateFunction with a one-letter environment key -> ValidationException 400", async () => {
    const e = await expectError(lambda.send(new CreateFunctionCommand({
      FunctionName: `bad-env-${suffix}`, Runtime: "python3.12", Role: state.roleArn, Handler: "app.lambda_handler",
      Code: { ZipFile: makeZip({ "app.py": HANDLER }) }, Environment: { Variables: { A: "secret-value" } },
    })), "ValidationException", 400);
    check(e.message === "1 validation error detected: Value at 'environment.variables' failed to satisfy constraint: "
      + "Map keys must satisfy constraint: [Member must satisfy regular expression pattern: [a-zA-Z]([a-zA-Z0-9_])+]", e.message);
    return e;
  });
  await step("error: ec2 DescribeVpcs DryRun -> DryRunOperation 412", () =>
    expectError(ec2.send(new DescribeVpcsCommand({ DryRun: true })), "DryRunOperation", 412));
  await step("error: sts GetCallerIdentity wrong secret -> SignatureDoesNotMatch 403", () => {
    const bad = new STSClient({ ...clientConfig, credentials: { ...credentials, secretAccessKey: "not-the-secret" } });
    return expectError(bad.send(new GetCallerIdentityCommand({})), "SignatureDoesNotMatch", 403);
  });
  await step("error: lambda wrong secret -> InvalidSignatureException 403", () => {
    const bad = new LambdaClient({ ...clientConfig, credentials: { ...credentials, secretAccessKey: "not-the-secret" } });
    return expectError(bad.send(new GetFunctionCommand({ FunctionName: functionName })), "InvalidSignatureException", 403);
  });

  // A client whose clock is 30 minutes slow: its first request is refused as expired, the
  // SDK takes the time from the error's Date header and its retry succeeds.
  await step("clock skew: the SDK corrects its clock from cloudlet's Date header (sts, ec2, logs, lambda)", async () => {
    const realNow = Date.now;
    Date.now = () => realNow() - 30 * 60 * 1000;
    try {
      const skewed = { ...clientConfig, maxAttempts: 2 };
      const attempts = {};
      for (const [name, client, command] of [
        ["sts", new STSClient(skewed), new GetCallerIdentityCommand({})],
        ["ec2", new EC2Client(skewed), new DescribeVpcsCommand({})],
        ["logs", new CloudWatchLogsClient(skewed), new DescribeLogGroupsCommand({ limit: 1 })],
        ["lambda", new LambdaClient(skewed), new GetFunctionCommand({ FunctionName: functionName })],
      ]) {
        const out = await client.send(command);
        check(out.$metadata.attempts === 2, `${name}: ${out.$metadata.attempts} attempts`);
        check(Math.abs(client.config.systemClockOffset - 30 * 60 * 1000) < 60_000, `${name}: offset ${client.config.systemClockOffset}`);
        attempts[name] = out.$metadata.attempts;
      }
      return attempts;
    } finally {
      Date.now = realNow;
    }
  });
}

async function cleanup() {
  await step("cleanup: lambda DeleteFunction", () => lambda.send(new DeleteFunctionCommand({ FunctionName: functionName })).then(() => null));
  await step("cleanup: elasticache DeleteServerlessCache until gone", async () => {
    await elasticache.send(new DeleteServerlessCacheCommand({ ServerlessCacheName: cacheName }));
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      try {
        await elasticache.send(new DescribeServerlessCachesCommand({ ServerlessCacheName: cacheName }));
      } catch (e) {
        if (e.name === "ServerlessCacheNotFoundFault") return null;
        throw e;
      }
      await sleep(500);
    }
    throw new Error("cache still listed after 60 s");
  });
  await step("cleanup: elasticache DeleteUserGroup/DeleteUser", async () => {
    await elasticache.send(new DeleteUserGroupCommand({ UserGroupId: userGroupId }));
    const deadline = Date.now() + 60_000;
    for (;;) {
      try {
        await elasticache.send(new DescribeUserGroupsCommand({ UserGroupId: userGroupId }));
      } catch (e) {
        if (e.name === "UserGroupNotFoundFault") break;
        throw e;
      }
      if (Date.now() > deadline) throw new Error("user group still listed after 60 s");
      await sleep(500);
    }
    await elasticache.send(new DeleteUserCommand({ UserId: iamUserId }));
    await elasticache.send(new DeleteUserCommand({ UserId: defaultUserId }));
    return null;
  });
  await step("cleanup: iam DetachRolePolicy/DeleteRole/DeletePolicy", async () => {
    for (const arn of [state.policyArn, VPC_ACCESS]) {
      if (arn) await iam.send(new DetachRolePolicyCommand({ RoleName: roleName, PolicyArn: arn }));
    }
    await iam.send(new DeleteRoleCommand({ RoleName: roleName }));
    if (state.policyArn) await iam.send(new DeletePolicyCommand({ PolicyArn: state.policyArn }));
    return null;
  });
}

try {
  await main();
} finally {
  await cleanup();
}
const ok = steps.every((s) => s.ok);
console.log(JSON.stringify({ ok, steps }, null, 2));
process.exitCode = ok ? 0 : 1;
