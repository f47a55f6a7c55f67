import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: ApiError | Error | undefined;
  loading: boolean;
  /** When the data last arrived. */
  loadedAt: Date | undefined;
  reload(): void;
}

/**
 * Loads `fetcher()` when `key` changes (and every `refreshMs` when given); keeps the last data
 * while reloading so refreshed pages do not flicker. An answer for an older key is dropped.
 */
export function useApi<T>(
  key: string | null,
  fetcher: () => Promise<T>,
  { refreshMs }: { refreshMs?: number } = {},
): Loaded<T> {
  const [state, setState] = useState<Omit<Loaded<T>, 'reload'>>({
    data: undefined,
    error: undefined,
    loading: key !== null,
    loadedAt: undefined,
  });
  const [tick, setTick] = useState(0);
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  const lastKey = useRef<string | null>(null);

  useEffect(() => {
    if (key === null) return;
    let current = true;
    const keyChanged = lastKey.current !== key;
    lastKey.current = key;
    setState((s) => ({ ...s, loading: true, ...(keyChanged ? { data: undefined, error: undefined } : {}) }));
    fetcherRef.current().then(
      (data) => current && setState({ data, error: undefined, loading: false, loadedAt: new Date() }),
      (error: Error) => current && setState((s) => ({ ...s, error, loading: false })),
    );
    return () => {
      current = false;
    };
  }, [key, tick]);

  useEffect(() => {
    if (key === null || !refreshMs) return;
    const timer = window.setInterval(() => setTick((t) => t + 1), refreshMs);
    return () => window.clearInterval(timer);
  }, [key, refreshMs]);

  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...state, reload };
}

/** One page of a list the server pages, and where the next starts (null: it was the last). */
export interface ListPage<T, C> {
  items: T[];
  next: C | null;
}

/**
 * A list read page by page: `load(null, true)` reads it afresh from the first page, `load(next,
 * false)` appends the next page. A failed read keeps the items already shown.
 */
export function usePagedList<T, C>(fetchPage: (after: C | null) => Promise<ListPage<T, C>>) {
  const [items, setItems] = useState<T[]>([]);
  const [next, setNext] = useState<C | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<unknown>();

  const load = async (after: C | null, replace: boolean) => {
    setLoading(true);
    try {
      const page = await fetchPage(after);
      setItems((old) => (replace ? page.items : [...old, ...page.items]));
      setNext(page.next);
      setError(undefined);
    } catch (err) {
      setError(err);
    } finally {
      setLoading(false);
    }
  };
  return { items, next, loading, error, load, clear: () => setItems([]) };
}
