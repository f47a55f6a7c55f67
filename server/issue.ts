// No imports: the console (console/src/api.ts) reads error bodies with this same type.

/** One bad field of a request: `path` as a client would write it, e.g. `batch[2].properties.amount`. */
export interface Issue {
  path: string;
  message: string;
}
