// The Node.js half of cloudlet_launcher (which execs node with this file): takes the
// environment's variables from the memory file named by CLOUDLET_CONFIG_FD (so the
// credentials are in no /proc/PID/environ), installs cloudlet's resolver shim, and
// runs AWS's runtime interface client (aws-lambda-ric) from /var/runtime.
import dns from "node:dns";
import fs from "node:fs";
import { register } from "node:module";
import { pathToFileURL } from "node:url";

const fd = Number(process.env.CLOUDLET_CONFIG_FD);
delete process.env.CLOUDLET_CONFIG_FD;
const config = JSON.parse(fs.readFileSync(fd, "utf8"));
fs.closeSync(fd);
Object.assign(process.env, config.env);

// Names of cloudlet's endpoints (serverless cache hosts) exist only in cloudlet's VPC
// DNS, mirrored to CLOUDLET_HOSTS_FILE; net and tls resolve through dns.lookup.
const hostsFile = process.env.CLOUDLET_HOSTS_FILE;
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
// CommonJS ones do through NODE_PATH.
const runtimeDir = process.env.LAMBDA_RUNTIME_DIR;
register("./cloudlet_resolve.mjs", import.meta.url, { data: { runtimeDir } });

const { run } = await import(pathToFileURL(`${runtimeDir}/node_modules/aws-lambda-ric/dist/index.mjs`).href);
await run(process.env.LAMBDA_TASK_ROOT, config.handler);
