/** The panel's entry inside Premiere: UXP's modules and globals into startPanel. */
import { loadPremiere } from './host/premiere-module';
import { DEFAULT_DAEMON_URL, startPanel } from './panel';
import { createUxpPlatform, loadUxp, type UxpClipboard } from './platform/uxp-platform';

void startPanel({
  ppro: loadPremiere(),
  platform: createUxpPlatform(loadUxp(), window.localStorage, navigator.clipboard as unknown as UxpClipboard),
  createSocket: (url, protocols) => new WebSocket(url, protocols),
  fetch: (url, init) => fetch(url, init),
  baseUrl: DEFAULT_DAEMON_URL,
  root: document.getElementById('app')!,
});
