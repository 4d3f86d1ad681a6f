/** Placeholder (part E): demo zones, events and news. */
import type { EventsCtx } from './context.js';

export async function seedEventsDemo(_ctx: EventsCtx): Promise<void> {}
