import type { Redis } from 'ioredis';
import { DAY_MS } from '../language/dates';
import type { RedisKeys } from './keys';
import { firstMatch, lifecycleStageOf, traitsReadBy, zoneOf } from './lifecycle-stage';
import type { ProfilesConfig, RfmDimensionConfig } from './profiles-config';

/**
 * RFM scoring: each buyer (orderCount ≥ 1) gets 1–5 per dimension —
 *   R: days since `lastOrderAt` (fewer is better), F: `orderCount`, M: `totalSpend` —
 * from four configured cut points, or `quantile`: the customer's place among all buyers.
 *
 * Quantile scores use the mid-rank percentile p = (buyers worse than the customer + half of those
 * equal) / buyers, and score = 1 + ⌊5p⌋ (at most 5). Ties share one score, so when 70 % of buyers
 * have exactly one order they all score 2 (p = 0.35) rather than being split at random, and a
 * customer with two orders lands above them.
 *
 * The distribution comes from a histogram per dimension built while SCANning the profiles
 * (customers/rfm-schedule.ts): exact for whole days and order counts, log buckets 2 % wide for
 * spend; memory stays a few thousand buckets whatever the number of customers. The model (the
 * histograms, plus the 20/40/60/80 % cut points for people to read) is kept in Redis; an order
 * rescored between two recomputes is placed against the last model.
 */

export type RfmDimension = 'recency' | 'frequency' | 'monetary';
export const RFM_DIMENSIONS: readonly RfmDimension[] = ['recency', 'frequency', 'monetary'];

/** Sorted bucket keys with their counts. */
export interface Histogram {
  keys: number[];
  counts: number[];
}

export interface RfmModel {
  /** ISO time of the recompute (recency days were counted to it). */
  computedAt: string;
  /** Buyers in the population. */
  buyers: number;
  histograms: Record<RfmDimension, Histogram>;
  /** The values at 20, 40, 60 and 80 % (recency: days; spend: bucket lower bounds), for reading. */
  quantiles: Record<RfmDimension, number[]>;
}

/** What a buyer's scores are computed from. */
export interface RfmInput {
  orderCount: number;
  totalSpend: number;
  /** Epoch ms of the last order. */
  lastOrderMs: number;
}

const SPEND_BASE = Math.log(1.02);
/** The bucket of spends below one cent. */
const ZERO_SPEND = -1_000_000;

/** The histogram bucket of a value: whole days / orders, 2 %-wide log buckets for spend. */
export function bucketOf(dimension: RfmDimension, value: number): number {
  if (dimension !== 'monetary') return Math.max(0, Math.floor(value));
  return value < 0.01 ? ZERO_SPEND : Math.floor(Math.log(value) / SPEND_BASE);
}

/** The lowest value of a bucket (inverse of bucketOf, for the readable quantiles). */
function bucketFloor(dimension: RfmDimension, key: number): number {
  if (dimension !== 'monetary') return key;
  return key === ZERO_SPEND ? 0 : Math.round(Math.exp(key * SPEND_BASE) * 100) / 100;
}

/** Whole days from the last order to `nowMs` (a future order counts as today). */
export function daysSince(lastOrderMs: number, nowMs: number): number {
  return Math.max(0, Math.floor((nowMs - lastOrderMs) / DAY_MS));
}

/** Accumulates the population one buyer at a time (bounded memory), then yields the model. */
export class RfmModelBuilder {
  private readonly counts: Record<RfmDimension, Map<number, number>> = {
    recency: new Map(),
    frequency: new Map(),
    monetary: new Map(),
  };
  private buyers = 0;

  constructor(private readonly nowMs: number) {}

  add(input: RfmInput): void {
    this.buyers += 1;
    this.bump('recency', daysSince(input.lastOrderMs, this.nowMs));
    this.bump('frequency', input.orderCount);
    this.bump('monetary', input.totalSpend);
  }

  private bump(dimension: RfmDimension, value: number) {
    const key = bucketOf(dimension, value);
    const map = this.counts[dimension];
    map.set(key, (map.get(key) ?? 0) + 1);
  }

  build(): RfmModel {
    const histograms = {} as Record<RfmDimension, Histogram>;
    const quantiles = {} as Record<RfmDimension, number[]>;
    for (const dimension of RFM_DIMENSIONS) {
      const keys = [...this.counts[dimension].keys()].sort((a, b) => a - b);
      const counts = keys.map((k) => this.counts[dimension].get(k)!);
      histograms[dimension] = { keys, counts };
      quantiles[dimension] = [0.2, 0.4, 0.6, 0.8].map((q) => {
        let seen = 0;
        for (let i = 0; i < keys.length; i++) {
          seen += counts[i]!;
          if (seen >= q * this.buyers) return bucketFloor(dimension, keys[i]!);
        }
        return 0;
      });
    }
    return { computedAt: new Date(this.nowMs).toISOString(), buyers: this.buyers, histograms, quantiles };
  }
}

/** A model with prefix sums, for scoring one customer quickly (binary search). */
export class RfmScorer {
  private readonly below: Record<RfmDimension, number[]> = { recency: [], frequency: [], monetary: [] };

  constructor(
    readonly model: RfmModel | undefined,
    private readonly config: ProfilesConfig['rfm'],
  ) {
    if (!model) return;
    for (const dimension of RFM_DIMENSIONS) {
      const counts = model.histograms[dimension].counts;
      const sums = [0];
      for (const c of counts) sums.push(sums[sums.length - 1]! + c);
      this.below[dimension] = sums;
    }
  }

  scores(input: RfmInput, nowMs: number): { rfmR: number; rfmF: number; rfmM: number } {
    return {
      rfmR: this.score('recency', daysSince(input.lastOrderMs, nowMs)),
      rfmF: this.score('frequency', input.orderCount),
      rfmM: this.score('monetary', input.totalSpend),
    };
  }

  score(dimension: RfmDimension, value: number): number {
    const rule: RfmDimensionConfig = this.config[dimension];
    if (rule !== 'quantile') return thresholdScore(dimension, value, rule);
    const p = this.percentile(dimension, value);
    return Math.min(5, 1 + Math.floor(5 * p));
  }

  /** Mid-rank share of buyers the value does better than (0.5 with no model yet). */
  percentile(dimension: RfmDimension, value: number): number {
    const hist = this.model?.histograms[dimension];
    const sums = this.below[dimension];
    const total = sums[sums.length - 1] ?? 0;
    if (!hist || total === 0) return 0.5;
    const key = bucketOf(dimension, value);
    // First index whose key is ≥ key.
    let lo = 0;
    let hi = hist.keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (hist.keys[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    const lower = sums[lo]!; // buyers with a smaller bucket
    const equal = hist.keys[lo] === key ? hist.counts[lo]! : 0;
    const higher = total - lower - equal;
    // Recency: fewer days is better, so the buyers "worse" are those with more days.
    const worse = dimension === 'recency' ? higher : lower;
    return (worse + equal / 2) / total;
  }
}

/** Score from four ascending cut points (docs/profiles.md): recency ≤, frequency / monetary ≥. */
export function thresholdScore(dimension: RfmDimension, value: number, cuts: readonly number[]): number {
  if (dimension === 'recency') {
    const i = cuts.findIndex((c) => value <= c);
    return i < 0 ? 1 : 5 - i;
  }
  let score = 1;
  for (const c of cuts) if (value >= c) score += 1;
  return score;
}

/** The buyer's RFM input read from traits; undefined for a customer without orders. */
export function rfmInputOf(traits: Record<string, unknown>): RfmInput | undefined {
  const orderCount = Number(traits.orderCount);
  const lastOrderMs = typeof traits.lastOrderAt === 'string' ? Date.parse(traits.lastOrderAt) : NaN;
  if (!(orderCount >= 1) || Number.isNaN(lastOrderMs)) return undefined;
  const spend = Number(traits.totalSpend);
  return { orderCount, totalSpend: Number.isFinite(spend) ? spend : 0, lastOrderMs };
}

/** The RFM group: the first configured group whose `when` holds, else `otherGroup`. */
export function rfmGroupOf(
  traits: Record<string, unknown>,
  config: ProfilesConfig['rfm'],
  nowMs: number,
  timeZone = zoneOf(traits),
): string {
  return firstMatch(config.groups, (g) => g.name, config.otherGroup).pick(traits, nowMs, timeZone);
}

/** The derived traits Touchpoint keeps (undefined: the trait is removed / not set). */
export interface DerivedTraits {
  rfmR: number | undefined;
  rfmF: number | undefined;
  rfmM: number | undefined;
  rfmGroup: string | undefined;
  lifecycleStage: string;
  [name: string]: unknown;
}

/**
 * RFM scores and group (buyers only) and lifecycle stage, from the customer's current traits
 * (computed ones included, `tags` if the rules use tags). Groups see the new scores, stages
 * see the new scores and group.
 */
export function deriveTraits(
  traits: Record<string, unknown>,
  scorer: RfmScorer,
  config: ProfilesConfig,
  nowMs: number,
): DerivedTraits {
  const input = rfmInputOf(traits);
  const scores = input ? scorer.scores(input, nowMs) : { rfmR: undefined, rfmF: undefined, rfmM: undefined };
  const next = { ...traits, ...scores };
  const zone = zoneOf(traits);
  const rfmGroup = input ? rfmGroupOf(next, config.rfm, nowMs, zone) : undefined;
  const lifecycleStage = lifecycleStageOf({ ...next, rfmGroup }, config.lifecycle, nowMs, zone);
  return { ...scores, rfmGroup, lifecycleStage };
}

/** The derived traits, compared with the stored ones before anything is written. */
export const DERIVED_TRAITS = ['rfmR', 'rfmF', 'rfmM', 'rfmGroup', 'lifecycleStage'] as const;

/**
 * What deriving needs of a profile: the traits scoring and the group and stage rules read, the
 * derived traits themselves (to compare), and whether the rules read tags. Fetching just these
 * spares reading, parsing and decrypting the rest of the profile.
 */
export function derivationInputs(config: ProfilesConfig): { fields: string[]; tags: boolean } {
  const read = traitsReadBy([
    ...config.rfm.groups.map((g) => g.when),
    ...config.lifecycle.stages.map((s) => s.when),
  ]);
  const tags = read.delete('tags');
  return {
    fields: [...new Set([...read, 'orderCount', 'totalSpend', 'lastOrderAt', 'timezone', ...DERIVED_TRAITS])],
    tags,
  };
}

/** Whether any derived value differs from the stored one (numbers and text: compared as they are). */
export function derivedDiffer(stored: Record<string, unknown>, derived: DerivedTraits): boolean {
  return DERIVED_TRAITS.some((name) => (stored[name] ?? undefined) !== (derived[name] ?? undefined));
}

/** Reads and writes the model; caches it for `cacheMs` so rescoring an order costs no Redis read. */
export class RfmModelStore {
  private cached?: { at: number; scorer: RfmScorer };

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
    private readonly config: ProfilesConfig['rfm'],
    private readonly cacheMs = 60_000,
  ) {}

  async scorer(nowMs = Date.now()): Promise<RfmScorer> {
    if (this.cached && nowMs - this.cached.at < this.cacheMs) return this.cached.scorer;
    const raw = await this.redis.get(this.keys.rfmModel());
    const scorer = new RfmScorer(raw ? (JSON.parse(raw) as RfmModel) : undefined, this.config);
    this.cached = { at: nowMs, scorer };
    return scorer;
  }

  async save(model: RfmModel): Promise<RfmScorer> {
    await this.redis.set(this.keys.rfmModel(), JSON.stringify(model));
    const scorer = new RfmScorer(model, this.config);
    this.cached = { at: Date.now(), scorer };
    return scorer;
  }

  async exists(): Promise<boolean> {
    return (await this.redis.exists(this.keys.rfmModel())) === 1;
  }
}
