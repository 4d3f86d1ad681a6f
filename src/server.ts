/** Process entry: load config, build the app, listen, and shut down gracefully on SIGTERM/SIGINT. */
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { DatabaseStartError } from './db/client.js';
import { installGracefulShutdown } from './shutdown.js';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    throw err;
  }
  let app;
  try {
    app = await buildApp(config);
  } catch (err) {
    if (err instanceof DatabaseStartError) {
      console.error(`Avvio interrotto: ${err.message}`);
      process.exit(70);
    }
    throw err;
  }

  installGracefulShutdown(app);

  await app.listen({ host: config.host, port: config.port });
  app.log.info({ url: config.publicUrl, mode: config.appMode }, 'sael-pay ready');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
