/** Types and error shapes shared by the apiserver stand-in's modules. */
import type { ServerResponse } from 'node:http';
import type { ResourceInfo } from './resources.js';

export interface User {
  name: string;
  groups: string[];
  /** authentication.kubernetes.io/* extras of a bound service-account token. */
  extra?: Record<string, string[]>;
}

/** What a request is about, as the apiserver's RequestInfo resolver sees it. */
export interface Target {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  sub?: string;
}

export type Obj = {
  apiVersion?: string;
  kind?: string;
  metadata: Record<string, unknown>;
  [k: string]: unknown;
};

export class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
  }
}

export function statusObject(code: number, reason: string, message: string, details?: unknown): Obj {
  return {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message,
    reason,
    ...(details ? { details } : {}),
    code,
  };
}

export function sendStatus(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(statusObject(code, reason, message)));
}

/** "leases.coordination.k8s.io", "pods": how apimachinery's errors name a resource. */
export function groupResource(info: ResourceInfo): string {
  return info.group ? `${info.resource}.${info.group}` : info.resource;
}

/** errors.NewForbidden's message shape. */
export function forbiddenError(
  info: ResourceInfo | undefined,
  name: string | undefined,
  why: string,
): HttpError {
  const gr = info ? groupResource(info) : '';
  const message = !gr
    ? `forbidden: ${why}`
    : name
      ? `${gr} "${name}" is forbidden: ${why}`
      : `${gr} is forbidden: ${why}`;
  return new HttpError(403, 'Forbidden', message);
}

/** errors.NewInvalid's message shape, one field error. */
export function invalidError(
  kindOrGroupResource: string,
  name: string,
  field: string,
  detail: string,
): HttpError {
  return new HttpError(422, 'Invalid', `${kindOrGroupResource} "${name}" is invalid: ${field}: ${detail}`);
}

/** errors.NewConflict with the registry's OptimisticLockErrorMsg. */
export function conflictError(info: ResourceInfo, name: string): HttpError {
  return new HttpError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${groupResource(info)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  );
}
