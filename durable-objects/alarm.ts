/**
 * One alarm per Durable Object serves several outboxes: each asks for a time, and the earliest
 * request wins (a later request must not push back an earlier one).
 */
export async function alarmNoLaterThan(storage: DurableObjectStorage, at: number): Promise<void> {
  const current = await storage.getAlarm();
  if (current === null || at < current) await storage.setAlarm(at);
}
