/**
 * The least OpenAPI v3 that kubectl needs (not the API's schemas): `kubectl apply`/`create -f`
 * validate with `--validate=strict` by default, and first ask /openapi/v3 whether the server
 * supports server-side field validation — client-go's queryParamVerifierV3 looks, in the group
 * version's document, for a PATCH operation tagged `x-kubernetes-group-version-kind` with a
 * `fieldValidation` parameter. Without it kubectl falls back to client-side validation from
 * /openapi/v2 protobuf, which this stand-in does not serve (so `kubectl explain` does not work).
 */
import { apiVersionOf, RESOURCE_TYPES, type JsonObject } from './resources.ts';

const gvPath = (group: string, version: string) => (group ? `apis/${group}/${version}` : `api/${version}`);
const HASH = 'STANDIN0';

/** GET /openapi/v3: the group versions and where their documents are. */
export function openApiV3Root(): JsonObject {
  const paths: JsonObject = {};
  for (const t of RESOURCE_TYPES)
    paths[gvPath(t.group, t.version)] = {
      serverRelativeURL: `/openapi/v3/${gvPath(t.group, t.version)}?hash=${HASH}`,
    };
  return { paths };
}

const QUERY = ['dryRun', 'fieldManager', 'fieldValidation', 'force', 'pretty'].map((name) => ({
  name,
  in: 'query',
  schema: { type: 'string', uniqueItems: true },
}));

/** GET /openapi/v3/<gv>: each type's item path with its PATCH operation and parameters. */
export function openApiV3Doc(gv: string): JsonObject | undefined {
  const types = RESOURCE_TYPES.filter((t) => gvPath(t.group, t.version) === gv);
  if (!types.length) return undefined;
  const paths: JsonObject = {};
  for (const t of types) {
    const ns = t.namespaced ? 'namespaces/{namespace}/' : '';
    const gvk = { group: t.group, version: t.version, kind: t.kind };
    paths[`/${gv}/${ns}${t.plural}/{name}`] = {
      patch: {
        description: `partially update the specified ${t.kind}`,
        operationId: `patch${t.kind}`,
        parameters: QUERY,
        'x-kubernetes-action': 'patch',
        'x-kubernetes-group-version-kind': gvk,
      },
    };
  }
  return {
    openapi: '3.0.0',
    info: { title: 'Kubernetes (stand-in)', version: 'v1.32.0' },
    paths,
    components: {
      schemas: Object.fromEntries(
        types.map((t) => [
          `${apiVersionOf(t)}.${t.kind}`,
          {
            type: 'object',
            'x-kubernetes-group-version-kind': [{ group: t.group, version: t.version, kind: t.kind }],
          },
        ]),
      ),
    },
  };
}
