import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { api, ApiError, onUnauthorized } from './api';
import type { Permission, SessionInfo } from './types';

/*
 * Who is signed in. The key is sent once (POST /v1/session) and never kept by the console: the
 * server answers with an HttpOnly cookie, and GET /v1/session says who that is and what they may
 * do. Pages hide what the permissions do not allow (the server refuses it anyway).
 */

interface SessionContextValue {
  /** undefined while the first GET /v1/session is in flight; null when signed out. */
  session: SessionInfo | null | undefined;
  can(permission: Permission): boolean;
  signIn(key: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionContextValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [session, setSession] = useState<SessionInfo | null | undefined>(undefined);

  const load = useCallback(async () => {
    try {
      setSession(await api.get<SessionInfo>('/v1/session'));
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 404)) setSession(null);
      else throw err;
    }
  }, []);

  useEffect(() => {
    load().catch(() => setSession(null));
    return onUnauthorized(() => setSession(null));
  }, [load]);

  const value = useMemo<SessionContextValue>(
    () => ({
      session,
      can: (permission) => session?.permissions.includes(permission) ?? false,
      async signIn(key) {
        await api.post('/v1/session', { key });
        await load();
      },
      async signOut() {
        await api.delete('/v1/session').catch(() => undefined);
        setSession(null);
      },
    }),
    [session, load],
  );
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionContextValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error('useSession outside SessionProvider');
  return value;
}
