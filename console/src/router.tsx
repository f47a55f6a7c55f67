import { useEffect, useSyncExternalStore, type MouseEvent, type ReactNode } from 'react';

/*
 * A small history router: the console has a handful of pages, addressed by path under /console/
 * (the server answers index.html for any of them). Links push history entries; back and forward
 * re-render through popstate.
 */

export const BASE = '/console';

const subscribers = new Set<() => void>();
function subscribe(callback: () => void) {
  subscribers.add(callback);
  window.addEventListener('popstate', callback);
  return () => {
    subscribers.delete(callback);
    window.removeEventListener('popstate', callback);
  };
}
const snapshot = () => window.location.pathname + window.location.search;

/** Goes to a console path (`/journeys/x`), as a new history entry unless `replace`. */
export function navigate(to: string, { replace = false }: { replace?: boolean } = {}) {
  const url = BASE + to;
  if (url === snapshot()) return;
  if (replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  subscribers.forEach((s) => s());
  window.scrollTo(0, 0);
}

/** The console path (without /console) and its query. */
export function useLocation(): { path: string; query: URLSearchParams } {
  const href = useSyncExternalStore(subscribe, snapshot);
  const url = new URL(href, window.location.origin);
  const path = url.pathname.startsWith(BASE) ? url.pathname.slice(BASE.length) || '/' : url.pathname;
  return { path: path.length > 1 ? path.replace(/\/+$/, '') : path, query: url.searchParams };
}

/** Matches `/journeys/:id/runs/:customerId` against a path; the decoded params, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split('/');
  const got = path.split('/');
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const g = got[i]!;
    if (w.startsWith(':')) {
      if (g === '') return null;
      params[w.slice(1)] = decodeURIComponent(g);
    } else if (w !== g) return null;
  }
  return params;
}

/** Builds a console path from segments, encoding each: path('journeys', id) → `/journeys/a%2Fb`. */
export function path(...segments: (string | number)[]): string {
  return '/' + segments.map((s) => encodeURIComponent(String(s))).join('/');
}

/** An anchor that navigates in-app (a real href: opening in a new tab works too). */
export function Link({
  to,
  children,
  className,
  testId,
}: {
  to: string;
  children: ReactNode;
  className?: string;
  testId?: string;
}) {
  const onClick = (event: MouseEvent<HTMLAnchorElement>) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    navigate(to);
  };
  return (
    <a href={BASE + to} onClick={onClick} className={className} data-testid={testId}>
      {children}
    </a>
  );
}

/** Replaces the current entry with `to` once rendered (e.g. `/` → the journey list). */
export function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}
