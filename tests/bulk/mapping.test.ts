import fs from 'node:fs';
import { MAPPINGS } from '../../bulk/mapping';
import type { BatchMessage, ImportFormat, ImportKind, MappingContext } from '../../bulk/message';
import { readCsv } from '../../bulk/read-csv';
import { readJsonl } from '../../bulk/read-jsonl';
import type { SourceItem } from '../../bulk/source';
import { instant, RowError } from '../../bulk/values';
import { tempDir, writeFile } from './support';

/*
 * Row → message for each kind, from CSV and from JSONL, as the importer reads and maps them
 * (bulk/read-*.ts, bulk/map-*.ts); no server here (tests/bulk/import.test.ts sends them).
 */

const ctx: MappingContext = { timeZone: 'Asia/Shanghai', fileKey: 'f00dfeed12345678', pseudonymKey: 'k' };
const dir = tempDir();
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

async function read(name: string, text: string, format: ImportFormat): Promise<SourceItem[]> {
  const file = writeFile(dir, name, text);
  const items: SourceItem[] = [];
  const reader =
    format === 'csv'
      ? readCsv(file, { offset: 0, line: 0 }, { bytes: 0 })
      : readJsonl(file, { offset: 0, line: 0 }, { bytes: 0 });
  for await (const item of reader) items.push(item);
  return items;
}

/** Each item mapped: the message, or the reason it is rejected (with its line). */
async function mapAll(kind: ImportKind, name: string, text: string, format: ImportFormat) {
  return (await read(name, text, format)).map((item) => {
    if (item.kind === 'bad') return { line: item.line, bad: item.reason };
    try {
      return { line: item.line, message: MAPPINGS[kind]({ line: item.line, fields: item.fields }, ctx) };
    } catch (err) {
      if (!(err instanceof RowError)) throw err;
      return { line: item.line, bad: err.message };
    }
  });
}

const messageOf = (x: { message?: BatchMessage }) => x.message!;

describe('members', () => {
  const csv = [
    'Member ID,phone,Email,name,birthday,level,points,registered_at,favourite_store,city',
    'M1001,+86 138 0013 8000,Wang.Li@Example.com,王丽,1990/5/1,gold,"1,200",2023-03-01 10:00:00,SH-01,上海',
    'M1002,,,Zhang Wei,,,,,,',
    ',,,No Identifier,,,,,,',
    'M1003,,,Bad Birthday,1990-13-45,,,,,',
  ].join('\n');

  test('CSV: identifiers as traits, typed known columns, other columns as strings, empty cells set nothing', async () => {
    const out = await mapAll('members', 'members.csv', csv, 'csv');
    expect(out[0]).toEqual({
      line: 2,
      message: {
        type: 'identify',
        messageId: expect.stringMatching(/^import:members:memberId:M1001:[0-9a-f]{12}$/),
        // The API requires a userId or anonymousId: the member id stands in.
        anonymousId: 'member:M1001',
        traits: {
          memberId: 'M1001',
          phone: '+86 138 0013 8000',
          email: 'Wang.Li@Example.com',
          name: '王丽',
          birthday: '1990-05-01',
          memberLevel: 'gold',
          points: 1200,
          registeredAt: '2023-03-01T02:00:00.000Z', // 10:00 in Shanghai
          favourite_store: 'SH-01',
          city: '上海',
        },
      },
    });
    expect(messageOf(out[1]!)).toEqual({
      type: 'identify',
      messageId: expect.stringMatching(/^import:members:memberId:M1002:/),
      anonymousId: 'member:M1002',
      traits: { memberId: 'M1002', name: 'Zhang Wei' },
    });
    expect(out[2]).toEqual({ line: 4, bad: expect.stringContaining('no identifier') });
    expect(out[3]).toEqual({ line: 5, bad: 'birthday: "1990-13-45" is not a date (YYYY-MM-DD)' });
  });

  test('the messageId is stable for the same row and changes with its content', async () => {
    const a = await mapAll('members', 'a.csv', 'memberId,name\nM1,Ann\nM1,Ann\nM1,Anna\n', 'csv');
    const ids = a.map((x) => messageOf(x).messageId);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[0]);
  });

  test('JSONL: the same mapping, JSON types kept, userId on the message', async () => {
    const jsonl = [
      '{"memberId":"M2001","userId":"u-9","name":"Li","points":30,"updatedAt":"2024-05-01T08:00:00Z","vip":true}',
      '',
      '{"member_id":"M2002","birthday":"19851224"}',
    ].join('\n');
    const out = await mapAll('members', 'members.jsonl', jsonl, 'jsonl');
    expect(out).toEqual([
      {
        line: 1,
        message: {
          type: 'identify',
          messageId: expect.stringMatching(/^import:members:userId:u-9:/),
          userId: 'u-9',
          timestamp: '2024-05-01T08:00:00.000Z',
          traits: { memberId: 'M2001', name: 'Li', points: 30, vip: true },
        },
      },
      {
        line: 3,
        message: {
          type: 'identify',
          messageId: expect.stringMatching(/^import:members:memberId:M2002:/),
          anonymousId: 'member:M2002',
          traits: { memberId: 'M2002', birthday: '1985-12-24' },
        },
      },
    ]);
  });
});

describe('orders', () => {
  test('CSV: order_completed at the order time, identifiers in context.traits, items as JSON', async () => {
    const csv = [
      'order_id,member_id,phone,total,currency,category,items,time,store,coupon',
      'O-1,M1001,,"¥1,299.00",cny,sofa,"[{""sku"":""S-3"",""qty"":1}]",2024-05-01 20:15:00,SH-01,SPRING',
      'O-2,,13800138000,99.5,,,3,2024-05-02T10:00:00+08:00,,',
      'O-3,M1001,,abc,,,,2024-05-02,,',
      ',M1001,,10,,,,2024-05-02,,',
      'O-5,M1001,,10,,,,,,',
      'O-6,,,10,,,,2024-05-02,,',
    ].join('\n');
    const out = await mapAll('orders', 'orders.csv', csv, 'csv');
    expect(out[0]).toEqual({
      line: 2,
      message: {
        type: 'track',
        messageId: 'import:orders:O-1',
        anonymousId: 'member:M1001',
        timestamp: '2024-05-01T12:15:00.000Z',
        event: 'order_completed',
        properties: {
          orderId: 'O-1',
          total: 1299,
          currency: 'CNY',
          category: 'sofa',
          items: [{ sku: 'S-3', qty: 1 }],
          store: 'SH-01',
          coupon: 'SPRING',
        },
        context: { traits: { memberId: 'M1001' } },
      },
    });
    expect(out[1]).toEqual({
      line: 3,
      message: {
        type: 'track',
        messageId: 'import:orders:O-2',
        // A phone stands in as a keyed hash, never in clear.
        anonymousId: expect.stringMatching(/^phone:[0-9a-f]{32}$/),
        timestamp: '2024-05-02T02:00:00.000Z',
        event: 'order_completed',
        properties: { orderId: 'O-2', total: 99.5, itemCount: 3 },
        context: { traits: { phone: '13800138000' } },
      },
    });
    expect(out.slice(2)).toEqual([
      { line: 4, bad: 'total: "abc" is not a number' },
      { line: 5, bad: 'orderId: is required' },
      { line: 6, bad: 'time: is required (when the order was placed)' },
      { line: 7, bad: expect.stringContaining('no identifier') },
    ]);
  });

  test('JSONL: userId on the message, epoch times, numbers as given', async () => {
    const out = await mapAll(
      'orders',
      'orders.jsonl',
      '{"orderId":"O-9","userId":"u-1","total":42,"time":1714550400}\n{"orderId":"O-10","userId":"u-1","total":"x","time":1714550400}\n',
      'jsonl',
    );
    expect(out).toEqual([
      {
        line: 1,
        message: {
          type: 'track',
          messageId: 'import:orders:O-9',
          userId: 'u-1',
          timestamp: '2024-05-01T08:00:00.000Z',
          event: 'order_completed',
          properties: { orderId: 'O-9', total: 42 },
        },
      },
      { line: 2, bad: 'total: "x" is not a number' },
    ]);
  });
});

describe('events', () => {
  test('JSONL: Segment-style rows; messageId from the row, else the file key and line', async () => {
    const jsonl = [
      '{"type":"track","event":"coupon_claimed","userId":"u-1","messageId":"src-1","timestamp":"2024-05-01T12:00:00+08:00","properties":{"code":"C1"},"memberId":"M1"}',
      '{"type":"identify","anonymousId":"a-1","traits":{"city":"Hangzhou"},"phone":"13800138000"}',
      '{"event":"content_viewed","userId":"u-2","context":{"traits":{"email":"x@y.z"}},"title":"Sofa guide"}',
      '{"type":"page","userId":"u-3"}',
      '{"type":"track","userId":"u-3"}',
      'not json',
      '[1,2]',
    ].join('\n');
    const out = await mapAll('events', 'events.jsonl', jsonl, 'jsonl');
    expect(out).toEqual([
      {
        line: 1,
        message: {
          type: 'track',
          messageId: 'import:events:src-1',
          userId: 'u-1',
          timestamp: '2024-05-01T04:00:00.000Z',
          event: 'coupon_claimed',
          properties: { code: 'C1' },
          context: { traits: { memberId: 'M1' } },
        },
      },
      {
        line: 2,
        message: {
          type: 'identify',
          messageId: 'import:events:f00dfeed12345678:2',
          anonymousId: 'a-1',
          traits: { city: 'Hangzhou', phone: '13800138000' },
        },
      },
      {
        line: 3,
        message: {
          type: 'track',
          messageId: 'import:events:f00dfeed12345678:3',
          userId: 'u-2',
          event: 'content_viewed',
          properties: { title: 'Sofa guide' },
          context: { traits: { email: 'x@y.z' } },
        },
      },
      { line: 4, bad: 'type: "page" is not supported: track or identify' },
      { line: 5, bad: 'event: is required for a track' },
      { line: 6, bad: expect.stringMatching(/^not valid JSON/) },
      { line: 7, bad: 'not a JSON object' },
    ]);
  });

  test('CSV: properties.<key> columns, a JSON properties column, other columns into properties', async () => {
    const csv = [
      'type,event,userId,timestamp,properties.category,properties,channel',
      'track,content_viewed,u-1,2024-05-01T00:00:00Z,sofa,"{""views"":3}",app',
      'identify,,u-2,,,,',
      'track,content_viewed,u-3,,,"{""views"":",',
    ].join('\n');
    const out = await mapAll('events', 'events.csv', csv, 'csv');
    expect(out).toEqual([
      {
        line: 2,
        message: {
          type: 'track',
          messageId: 'import:events:f00dfeed12345678:2',
          userId: 'u-1',
          timestamp: '2024-05-01T00:00:00.000Z',
          event: 'content_viewed',
          properties: { category: 'sofa', views: 3, channel: 'app' },
        },
      },
      {
        line: 3,
        message: {
          type: 'identify',
          messageId: 'import:events:f00dfeed12345678:3',
          userId: 'u-2',
          traits: {},
        },
      },
      { line: 4, bad: 'properties: not valid JSON' },
    ]);
  });
});

describe('times', () => {
  test.each([
    ['2024-05-01', '2024-04-30T16:00:00.000Z'],
    ['2024/05/01 10:00', '2024-05-01T02:00:00.000Z'],
    ['2024-05-01T10:00:00.5Z', '2024-05-01T10:00:00.500Z'],
    ['2024-05-01T10:00:00+0100', '2024-05-01T09:00:00.000Z'],
    ['2024-05-01T10:00:00-03:30', '2024-05-01T13:30:00.000Z'],
    ['2024-W18-3', '2024-04-30T16:00:00.000Z'], // luxon reads the rarer forms
    ['1714550400000', '2024-05-01T08:00:00.000Z'],
  ])('%s → %s', (given, expected) => {
    expect(instant('time', given, 'Asia/Shanghai')).toBe(expected);
  });

  test('a zone with summer time: the offset of that day', () => {
    expect(instant('time', '2024-01-15 12:00', 'Europe/Berlin')).toBe('2024-01-15T11:00:00.000Z');
    expect(instant('time', '2024-07-15 12:00', 'Europe/Berlin')).toBe('2024-07-15T10:00:00.000Z');
  });

  test.each(['2024-02-30', '2024-13-01', '2024-05-01 25:00', 'yesterday', '1800-01-01'])(
    '%s is refused',
    (given) => {
      expect(() => instant('time', given, 'UTC')).toThrow(RowError);
    },
  );
});

describe('CSV reading', () => {
  test('line numbers of multi-line quoted fields, CRLF, BOM, blank lines; wrong field counts are bad rows', async () => {
    const csv = '\ufefforderId,note\r\n1,"two\r\nlines"\r\n\r\n2,plain\r\n3\r\n4,x,,\r\n5,a,b\r\n6,"end"';
    const items = await read('lines.csv', csv, 'csv');
    expect(items.map((i) => (i.kind === 'row' ? [i.line, i.fields] : [i.line, i.reason]))).toEqual([
      [2, { orderId: '1', note: 'two\r\nlines' }],
      [5, { orderId: '2', note: 'plain' }],
      [6, '1 field, the header has 2'],
      [7, { orderId: '4', note: 'x' }], // trailing empty fields are fine
      [8, '3 fields, the header has 2'],
      [9, { orderId: '6', note: 'end' }],
    ]);
    // Offsets: each item's end is where the next one starts; the last is the file's size.
    expect(items[items.length - 1]!.end).toBe(Buffer.byteLength(csv));
  });

  test('an unclosed quote at the end: the rows before it, then one bad record from its line', async () => {
    const items = await read('unclosed.csv', 'a,b\n1,2\n3,"4\n5,6\n', 'csv');
    expect(items.map((i) => [i.kind, i.line])).toEqual([
      ['row', 2],
      ['bad', 3],
    ]);
    expect(items[1]).toMatchObject({ reason: 'a quoted field is not closed before the end of the file' });
  });

  test('resuming from an offset reads the header from the start and keeps line numbers', async () => {
    const file = writeFile(dir, 'resume.csv', 'a,b\n1,x\n2,y\n3,z\n');
    const all: SourceItem[] = [];
    for await (const item of readCsv(file, { offset: 0, line: 0 }, { bytes: 0 })) all.push(item);
    const from = { offset: all[0]!.end, line: all[0]!.endLine };
    const rest: SourceItem[] = [];
    for await (const item of readCsv(file, from, { bytes: 0 })) rest.push(item);
    expect(rest).toEqual(all.slice(1));
    expect(rest.map((i) => i.line)).toEqual([3, 4]);
  });

  test('a duplicate column is an error about the header', async () => {
    const file = writeFile(dir, 'dup.csv', 'memberId,member_id\n1,2\n');
    const reader = readCsv(file, { offset: 0, line: 0 }, { bytes: 0 });
    await expect(reader.next()).rejects.toThrow(
      'header: columns "memberId" and "member_id" are the same column',
    );
  });
});

describe('offsets and lines across chunks', () => {
  // ~300 KB: several 64 KiB chunks, records with line breaks inside quotes crossing chunk ends.
  const rows: { id: string; line: number }[] = [];
  let text = 'id,note\n';
  let line = 2;
  for (let i = 0; i < 4000; i++) {
    const multi = i % 7 === 3;
    const note = multi
      ? `"first ${i}\nsecond ""quoted""\nthird"`
      : `plain note number ${i} ${'x'.repeat(i % 90)}`;
    rows.push({ id: String(i), line });
    text += `${i},${note}\n`;
    line += multi ? 3 : 1;
    if (i % 500 === 250) {
      text += '\n'; // a blank line now and then
      line += 1;
    }
  }

  test.each(['csv', 'jsonl'] as const)(
    '%s: every row’s line, and resuming from any row gives the rest',
    async (format) => {
      const body =
        format === 'csv'
          ? text
          : rows.map((r) => JSON.stringify({ id: r.id, note: 'n'.repeat(Number(r.id) % 200) })).join('\n') +
            '\n';
      const file = writeFile(dir, `chunks.${format}`, body);
      const readAll = async (from: { offset: number; line: number }) => {
        const out: SourceItem[] = [];
        const reader =
          format === 'csv' ? readCsv(file, from, { bytes: 0 }) : readJsonl(file, from, { bytes: 0 });
        for await (const item of reader) out.push(item);
        return out;
      };
      const all = await readAll({ offset: 0, line: 0 });
      expect(all.every((i) => i.kind === 'row')).toBe(true);
      const expected = format === 'csv' ? rows.map((r) => r.line) : rows.map((_, i) => i + 1);
      expect(all.map((i) => i.line)).toEqual(expected);
      for (const at of [0, 1, 617, 1999, 3998]) {
        const rest = await readAll({ offset: all[at]!.end, line: all[at]!.endLine });
        expect(rest.map((i) => i.line)).toEqual(expected.slice(at + 1));
      }
    },
  );
});
