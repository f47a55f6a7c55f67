import { identifiersOf, hasIdentifier, subjectOf } from './identifiers';
import { naturalMessageId, type BatchMessage, type InputRow, type MappingContext } from './message';
import { Fields } from './row';
import { amount, count, instant, json, RowError } from './values';

/** The event an order row becomes (the name computed traits and journeys listen to). */
export const ORDER_EVENT = 'order_completed';

/** Order columns besides the identifiers, by accepted names (column keys). */
export const ORDER_COLUMNS = {
  orderId: ['orderid', 'orderno', 'ordernumber', 'ordercode'],
  total: ['total', 'amount', 'ordertotal', 'totalamount', 'ordervalue', 'revenue'],
  currency: ['currency', 'currencycode'],
  category: ['category', 'productcategory'],
  items: ['items', 'lineitems', 'products'],
  itemCount: ['itemcount', 'quantity', 'qty'],
  time: ['time', 'orderedat', 'ordertime', 'orderdate', 'completedat', 'createdat', 'timestamp', 'date'],
  store: ['store', 'storeid', 'storecode', 'shop'],
  channel: ['channel', 'saleschannel'],
} as const;

/**
 * An order row → a `track` of `order_completed` {orderId, total, currency?, category?, items? |
 * itemCount?, store?, channel?, other columns as strings} at the order's time, about the customer
 * its identifiers name: userId / anonymousId on the message; memberId, phone, email, unionId and
 * openId in `context.traits` (read by identity resolution for every track).
 *
 * Required: orderId (the messageId is `import:orders:<orderId>`: an order is imported once however
 * often its file is), a numeric total, the time (a historical order counted "now" would distort
 * recency and RFM), and an identifier.
 */
export function mapOrder(row: InputRow, ctx: MappingContext): BatchMessage {
  const fields = new Fields(row.fields);
  const ids = identifiersOf(fields);
  const orderId = fields.text(ORDER_COLUMNS.orderId);
  if (orderId === undefined) throw new RowError('orderId: is required');
  if (!hasIdentifier(ids))
    throw new RowError('no identifier: one of memberId, userId, phone, email, unionId, openId is required');
  const total = fields.take(ORDER_COLUMNS.total);
  if (!total) throw new RowError('total: is required');
  const time = fields.take(ORDER_COLUMNS.time);
  if (!time) throw new RowError('time: is required (when the order was placed)');

  const properties: Record<string, unknown> = { orderId, total: amount(total.name, total.value) };
  const currency = fields.text(ORDER_COLUMNS.currency);
  if (currency !== undefined) properties.currency = currency.toUpperCase();
  const category = fields.text(ORDER_COLUMNS.category);
  if (category !== undefined) properties.category = category;
  const items = fields.take(ORDER_COLUMNS.items);
  if (items) {
    // A JSON list of line items, or just how many there were.
    const raw = typeof items.value === 'string' ? items.value.trim() : items.value;
    if (typeof raw === 'number' || (typeof raw === 'string' && /^\d+$/.test(raw)))
      properties.itemCount = count(items.name, raw);
    else properties.items = json(items.name, raw, 'array');
  }
  const itemCount = fields.take(ORDER_COLUMNS.itemCount);
  if (itemCount) properties.itemCount = count(itemCount.name, itemCount.value);
  for (const name of ['store', 'channel'] as const) {
    const value = fields.text(ORDER_COLUMNS[name]);
    if (value !== undefined) properties[name] = value;
  }
  for (const [name, value] of fields.rest()) properties[name] = value;

  return {
    type: 'track',
    messageId: naturalMessageId('orders', orderId),
    ...subjectOf(ids, ctx.pseudonymKey),
    timestamp: instant(time.name, time.value, ctx.timeZone),
    event: ORDER_EVENT,
    properties,
    ...(Object.keys(ids.traits).length > 0 && { context: { traits: ids.traits } }),
  };
}
