import t from 'tap';
import { buildTestApp } from './helpers.js';
t.test('x', async (t) => {
  await buildTestApp(t); // warm (keys)
  const c0 = process.cpuUsage(); const w0 = performance.now();
  for (let i = 0; i < 20; i++) { const app = await buildTestApp(t); await app.close(); }
  const c = process.cpuUsage(c0);
  console.error(`per app: ${((performance.now() - w0) / 20).toFixed(0)} ms wall, ${((c.user + c.system) / 20000).toFixed(0)} ms CPU`);
});
