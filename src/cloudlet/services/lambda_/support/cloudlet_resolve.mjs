// Module resolve hook (registered by cloudlet_launcher.mjs): a bare specifier the
// function's own node_modules lacks is looked up in the runtime's node_modules, so an
// ES module handler imports the bundled AWS SDK as on AWS's Node.js runtimes.
import { pathToFileURL } from "node:url";

let fallbackParent = null;

export function initialize(data) {
  if (data && data.runtimeDir) fallbackParent = pathToFileURL(`${data.runtimeDir}/node_modules/`).href;
}

export async function resolve(specifier, context, nextResolve) {
  try {
    return await nextResolve(specifier, context);
  } catch (err) {
    const bare = !/^(\.|\/|[a-z][a-z0-9+.-]*:)/i.test(specifier);
    if (!bare || fallbackParent === null || err?.code !== "ERR_MODULE_NOT_FOUND") throw err;
    return nextResolve(specifier, { ...context, parentURL: fallbackParent });
  }
}
