import type { PremiereApi } from './premiere-api';

/** Premiere's UXP module, available only inside Premiere (the build keeps `premierepro` external). */
export function loadPremiere(): PremiereApi {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('premierepro') as PremiereApi;
}
