/** Process entry: load config, build the app, listen, and shut down gracefully on SIGTERM/SIGINT. */
import { buildApp } from './app.js';
import { ConfigError, loadConfigForStart } from './config.js';
import { DatabaseStartError } from './db/client.js';
import { installGracefulShutdown } from './shutdown.js';

async function main() {
  let config;
  try {
    // Settings, the files they name and the production requirements, every problem listed at once.
    config = loadConfigForStart();
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
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(78);
    }
    throw err;
  }

  installGracefulShutdown(app);

  await app.listen({ host: config.host, port: config.port });
  await app.listenStationTls();
  app.log.info({ url: config.publicUrl, mode: config.appMode }, 'sael-pay ready');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
