/** Placeholder: filled by its part (see the events plan). */
import type { FastifyInstance } from 'fastify';

export default async function routes(_app: FastifyInstance): Promise<void> {}
