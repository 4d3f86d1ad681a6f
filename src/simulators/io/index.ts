/** Placeholder (part D): the App IO simulator (demo and tests). */
import type { FastifyInstance } from 'fastify';

export default async function ioSimulator(_app: FastifyInstance): Promise<void> {}
