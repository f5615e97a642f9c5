import { RuntimeError, RuntimeErrorCode } from './errors.ts';

/** "namespace/name", or just "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc). */
export type ObjectKey = string;

export function keyOf(obj: { metadata?: { namespace?: string; name?: string } }): ObjectKey {
  const name = obj.metadata?.name;
  if (!name)
    throw new RuntimeError(
      RuntimeErrorCode.InvalidObject,
      'metadata.name is empty: an object needs a name to have a key',
    );
  const namespace = obj.metadata?.namespace;
  return namespace ? `${namespace}/${name}` : name;
}

export function splitKey(key: ObjectKey): { namespace: string; name: string } {
  const parts = key.split('/');
  if (parts.length === 1 && parts[0]) return { namespace: '', name: parts[0] };
  if (parts.length === 2 && parts[0] && parts[1]) return { namespace: parts[0], name: parts[1] };
  throw new RuntimeError(
    RuntimeErrorCode.InvalidKey,
    `object key ${JSON.stringify(key)} is not "namespace/name" or "name"`,
  );
}
