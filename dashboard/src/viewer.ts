import { createContext, useContext } from 'react';
import type { Scope } from './generated/graphql.ts';

export interface ViewerInfo {
  tenant: { id: string; name: string };
  scopes: readonly Scope[];
}

export interface Permissions extends ViewerInfo {
  canRead: boolean;
  canPublish: boolean;
  isAdmin: boolean;
}

export function permissionsOf(viewer: ViewerInfo): Permissions {
  return {
    ...viewer,
    canRead: viewer.scopes.includes('READ'),
    canPublish: viewer.scopes.includes('PUBLISH'),
    isAdmin: viewer.scopes.includes('ADMIN'),
  };
}

export const ViewerContext = createContext<Permissions | null>(null);

export function useViewer(): Permissions {
  const viewer = useContext(ViewerContext);
  if (!viewer) throw new Error('useViewer outside a signed-in session');
  return viewer;
}
