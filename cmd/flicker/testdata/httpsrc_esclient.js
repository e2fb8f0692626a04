// Drives the official Elasticsearch client (@elastic/elasticsearch) against flicker's HTTP source: info() runs
// the client's product check (the X-Elastic-Product header), then the bulk helper sends DOCS documents in
// several _bulk requests. Prints one JSON line with what the client saw; exits 1 on any error.
// Env: FLICKER_URL, FLICKER_TOKEN (sent as an API key), DOCS.
const { Client } = require('@elastic/elasticsearch');

async function main() {
  const client = new Client({ node: process.env.FLICKER_URL, auth: { apiKey: process.env.FLICKER_TOKEN } });
  const info = await client.info();
  const n = Number(process.env.DOCS);
  const docs = Array.from({ length: n }, (_, i) => ({ message: `esjs ${i}`, n: i, '@timestamp': new Date(0).toISOString() }));
  const failed = [];
  const result = await client.helpers.bulk({
    datasource: docs,
    onDocument: () => ({ create: { _index: 'logs-esjs' } }),
    onDrop: (doc) => failed.push(doc),
    flushBytes: 2000,
    concurrency: 3,
    retries: 0,
  });
  console.log(JSON.stringify({ version: info.version.number, total: result.total, successful: result.successful,
    failed: result.failed, dropped: failed.length }));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
