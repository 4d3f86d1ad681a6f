/** Placeholder: filled in by the part of the catalogue that owns this file. */
import type { FastifyInstance } from 'fastify';

export default async function routes(_app: FastifyInstance): Promise<void> {}
