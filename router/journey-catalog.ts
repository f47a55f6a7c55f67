import type { Journey } from '../language/types';

/** The loaded journeys, indexed by the events that start them and the events they listen for. */
export class JourneyCatalog {
  private readonly byId = new Map<string, Journey>();
  private readonly entries = new Map<string, Journey[]>();
  private readonly listeners = new Map<string, Journey[]>();

  constructor(journeys: Journey[]) {
    for (const journey of journeys) {
      this.byId.set(journey.id, journey);
      push(this.entries, journey.entry.event, journey);
      const heard = new Set([
        ...journey.exit.map((m) => m.event),
        ...journey.steps.flatMap((s) => (s.type === 'waitFor' ? [s.event] : [])),
      ]);
      for (const event of heard) push(this.listeners, event, journey);
    }
  }

  list(): Journey[] {
    return [...this.byId.values()];
  }

  get(id: string): Journey | undefined {
    return this.byId.get(id);
  }

  /** Journeys whose entry is this event (their filter still has to match). */
  enteredBy(event: string): Journey[] {
    return this.entries.get(event) ?? [];
  }

  /** Journeys with a goal or a waitFor on this event: running customers get it as a signal. */
  listeningTo(event: string): Journey[] {
    return this.listeners.get(event) ?? [];
  }
}

function push(map: Map<string, Journey[]>, key: string, journey: Journey): void {
  map.set(key, [...(map.get(key) ?? []), journey]);
}
