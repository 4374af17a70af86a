// The SDK client settings both scripts take from the environment test_js_sdk.py sets.
const endpoint = process.env.AWS_ENDPOINT_URL;
const region = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION || "us-east-1";
const credentials = {
  accessKeyId: process.env.AWS_ACCESS_KEY_ID,
  secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
};
if (!endpoint || !credentials.accessKeyId || !credentials.secretAccessKey) {
  console.error("set AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
  process.exit(2);
}
// One attempt per call: a retried 5xx must show up as a failure, not hide behind a retry.
export const clientConfig = { endpoint, region, credentials, maxAttempts: 1 };
export { endpoint, region, credentials };
