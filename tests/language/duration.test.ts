import { DurationError, formatDuration, parseDuration } from '../../language/duration';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

describe('parseDuration', () => {
  it.each([
    ['90s', 90 * SECOND],
    ['15m', 15 * MINUTE],
    ['24h', 24 * HOUR],
    ['7d', 7 * DAY],
    ['2w', 14 * DAY],
    ['1d12h', DAY + 12 * HOUR],
    ['1w2d3h4m5s', 9 * DAY + 3 * HOUR + 4 * MINUTE + 5 * SECOND],
    ['1.5h', 90 * MINUTE],
    ['  30m ', 30 * MINUTE],
    ['0s', 0],
  ])('short form %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['PT2H', 2 * HOUR],
    ['P7D', 7 * DAY],
    ['P1DT12H', DAY + 12 * HOUR],
    ['PT90S', 90 * SECOND],
    ['P2W', 14 * DAY],
    ['PT1.5H', 90 * MINUTE],
    ['pt15m', 15 * MINUTE],
  ])('ISO-8601 %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', /empty duration/],
    ['2 hours', /not a duration/],
    ['12h1d', /largest unit first/],
    ['1h1h', /not a duration/],
    ['5', /not a duration/],
    ['2H', /not a duration/],
    ['-5m', /not a duration/],
    ['P', /not an ISO-8601 duration/],
    ['PT', /not an ISO-8601 duration/],
    ['P2X', /not an ISO-8601 duration/],
    ['P1M', /years or months/],
    ['P1Y', /years or months/],
    ['-PT1H', /negative/],
    ['PT-1H', /negative/],
  ])('refuses %j', (text, message) => {
    expect(() => parseDuration(text)).toThrow(DurationError);
    expect(() => parseDuration(text)).toThrow(message);
  });

  it('formats milliseconds back to the short form', () => {
    expect(formatDuration(DAY + 12 * HOUR)).toBe('1d12h');
    expect(formatDuration(14 * DAY + 30 * SECOND)).toBe('2w30s');
    expect(formatDuration(0)).toBe('0s');
    expect(parseDuration(formatDuration(3 * DAY + 5 * MINUTE))).toBe(3 * DAY + 5 * MINUTE);
  });
});
