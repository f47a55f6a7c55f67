import { mapEvent } from './map-events';
import { mapMember } from './map-members';
import { mapOrder } from './map-orders';
import type { BatchMessage, ImportKind, InputRow, MappingContext } from './message';

/** The mapping of each kind of file: one row → one Segment-style message (docs/import.md). */
export const MAPPINGS: Record<ImportKind, (row: InputRow, ctx: MappingContext) => BatchMessage> = {
  members: mapMember,
  orders: mapOrder,
  events: mapEvent,
};
