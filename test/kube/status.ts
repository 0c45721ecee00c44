/**
 * meta/v1 Status objects, shaped as kube-apiserver writes them (apimachinery
 * pkg/api/errors/errors.go): kubectl prints `Error from server (<Reason>): <message>` from them.
 */
import { groupResource, type JsonObject, type ResourceType } from './resources.ts';

/** An error the request handler turns into a Status response. */
export class KubeError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: JsonObject,
  ) {
    super(message);
  }

  /** The Status body. */
  status(): JsonObject {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

function details(t: ResourceType, name?: string): JsonObject {
  return { ...(name !== undefined ? { name } : {}), ...(t.group ? { group: t.group } : {}), kind: t.plural };
}

export const notFound = (t: ResourceType, name: string) =>
  new KubeError(404, 'NotFound', `${groupResource(t)} "${name}" not found`, details(t, name));

export const alreadyExists = (t: ResourceType, name: string) =>
  new KubeError(409, 'AlreadyExists', `${groupResource(t)} "${name}" already exists`, details(t, name));

/** An optimistic-concurrency failure (metadata.resourceVersion did not match). */
export const conflict = (t: ResourceType, name: string) =>
  new KubeError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${groupResource(t)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    details(t, name),
  );

/** RBAC's refusal, worded as the authorizer words it (apiserver pkg/endpoints/handlers/responsewriters/errors.go). */
export function forbidden(
  user: string,
  verb: string,
  t: ResourceType | undefined,
  resource: string,
  namespace?: string,
  name?: string,
) {
  const group = t?.group ?? '';
  const where = namespace
    ? ` in the namespace "${namespace}"`
    : t?.namespaced === false
      ? ' at the cluster scope'
      : '';
  const subject = name ? `${resource} "${name}"` : resource;
  return new KubeError(
    403,
    'Forbidden',
    `${subject} is forbidden: User "${user}" cannot ${verb} resource "${resource}" in API group "${group}"${where}`,
    { ...(name ? { name } : {}), ...(group ? { group } : {}), kind: resource },
  );
}

export const unauthorized = () => new KubeError(401, 'Unauthorized', 'Unauthorized');

export const badRequest = (message: string) => new KubeError(400, 'BadRequest', message);

export const methodNotAllowed = () =>
  new KubeError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');

/** The 404 for a URL no route serves (apiserver's NotFound handler). */
export const noRoute = () =>
  new KubeError(404, 'NotFound', 'the server could not find the requested resource', {});

/** A 422 naming the field (field.ErrorList → StatusReasonInvalid). */
export function invalid(kind: string, name: string, field: string, causeReason: string, message: string) {
  return new KubeError(422, 'Invalid', `${kind} "${name}" is invalid: ${field}: ${message}`, {
    name,
    kind,
    causes: [{ reason: causeReason, message, field }],
  });
}

/** A 410 for a watch from a resourceVersion older than the kept history. */
export const expired = (rv: string) => new KubeError(410, 'Expired', `too old resource version: ${rv}`);

/** A Success Status, what a delete of most types answers. */
export function success(t: ResourceType, name: string, uid?: string): JsonObject {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { ...details(t, name), ...(uid ? { uid } : {}) },
  };
}
