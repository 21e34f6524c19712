'use strict';
// Greets: params {"name": "Ada"} → {"hello":"Ada"}.
// exec: `node index.js` (params on stdin or FERRY_PARAMS, result on stdout); agent: handler(params, ctx).
async function handler(params, ctx) {
  const name = (params && params.name) || 'world';
  if (ctx) ctx.progress(1);
  return { hello: String(name) };
}
module.exports = { handler };

if (require.main === module) {
  let input = '';
  process.stdin.on('data', (d) => (input += d));
  process.stdin.on('end', async () => {
    const raw = input.trim() || process.env.FERRY_PARAMS || 'null';
    process.stdout.write(JSON.stringify(await handler(JSON.parse(raw))) + '\n');
  });
}
