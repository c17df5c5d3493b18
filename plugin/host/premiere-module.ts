import type { PremiereApi } from './premiere-api';

/** Premiere's UXP module, available only inside Premiere (the build keeps `premierepro` external). */
export function loadPremiere(): PremiereApi {
  return require('premierepro') as PremiereApi;
}
