/** Routes of the conservazione module (placeholder: its owner fills it). */
import type { FastifyInstance } from 'fastify';

export default async function routes(app: FastifyInstance): Promise<void> {
  void app;
}
