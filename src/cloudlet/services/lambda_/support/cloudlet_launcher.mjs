// The Node.js half of cloudlet_launcher (which execs node with this file): takes the
// environment's variables from the memory file whose descriptor is its one argument (so the
// credentials are in no /proc/PID/environ), installs cloudlet's resolver shim, and
// runs AWS's runtime interface client (aws-lambda-ric) from /var/runtime.
import dns from "node:dns";
import fs from "node:fs";
import { register } from "node:module";
import path from "node:path";
import { pathToFileURL } from "node:url";

const fd = Number(process.argv[2]);
process.argv.splice(2, 1);
const config = JSON.parse(fs.readFileSync(fd, "utf8"));
fs.closeSync(fd);
Object.assign(process.env, config.env);

// Names of cloudlet's endpoints (serverless cache hosts) exist only in cloudlet's VPC
// DNS, mirrored to the hosts file the launcher names; net and tls resolve through dns.lookup.
const hostsFile = config.hosts_file;
if (hostsFile) {
  const cache = { mtime: null, names: new Map() };
  const names = () => {
    let st;
    try {
      st = fs.statSync(hostsFile, { bigint: true });
    } catch {
      return new Map();
    }
    if (st.mtimeNs !== cache.mtime) {
      const found = new Map();
      for (const line of fs.readFileSync(hostsFile, "utf8").split("\n")) {
        const parts = line.split("#", 1)[0].trim().split(/\s+/);
        for (const name of parts.slice(1)) found.set(name.toLowerCase(), parts[0]);
      }
      cache.mtime = st.mtimeNs;
      cache.names = found;
    }
    return cache.names;
  };
  const mapped = (host) =>
    (typeof host === "string" && names().get(host.replace(/\.$/, "").toLowerCase())) || host;
  const lookup = dns.lookup;
  dns.lookup = function (host, ...rest) {
    return lookup.call(this, mapped(host), ...rest);
  };
  const promisesLookup = dns.promises.lookup;
  dns.promises.lookup = function (host, ...rest) {
    return promisesLookup.call(this, mapped(host), ...rest);
  };
}

// ES module handlers resolve bare names (the SDK) in /var/runtime/node_modules too, as
// CommonJS ones do through NODE_PATH. The hook runs in a loader thread that costs tens of
// milliseconds to start, so only an ES module handler gets it.
const runtimeDir = process.env.LAMBDA_RUNTIME_DIR;
if (isEsModule(process.env.LAMBDA_TASK_ROOT, config.handler)) {
  register("./cloudlet_resolve.mjs", import.meta.url, { data: { runtimeDir } });
}

// Whether the handler's module loads as an ES module: .mjs, or .js under a package.json
// whose "type" is "module" (the nearest one up to the task root), as node decides.
function isEsModule(taskRoot, handler) {
  const base = path.join(taskRoot, handler.slice(0, handler.lastIndexOf(".")));
  if (fs.existsSync(`${base}.mjs`)) return true;
  if (fs.existsSync(`${base}.cjs`) || !fs.existsSync(`${base}.js`)) return false;
  for (let dir = path.dirname(base); dir.startsWith(taskRoot); dir = path.dirname(dir)) {
    try {
      return JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8")).type === "module";
    } catch (e) {
      if (e.code !== "ENOENT") return false;
    }
    if (dir === taskRoot) break;
  }
  return false;
}

// aws-lambda-ric writes each console record as one frame to this descriptor, as on AWS: it
// is the stdout pipe, so cloudlet reads records and printed text in the order written, and a
// multi-line message stays one event (without it, the client joins lines with \r).
process.env._LAMBDA_TELEMETRY_LOG_FD = "1";
const { run } = await import(pathToFileURL(`${runtimeDir}/node_modules/aws-lambda-ric/dist/index.mjs`).href);
await run(process.env.LAMBDA_TASK_ROOT, config.handler);
