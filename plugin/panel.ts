/**
 * The panel's composition root: the host adapter over a `premierepro` module, the daemon client, the controller
 * and the view. Premiere's entry (main.ts) and the Chromium test harness both start the panel through here.
 */
import { DAEMON_PORT } from '../shared/protocol-constants';
import { createTimelineHost } from './host/timeline-host';
import type { PremiereApi } from './host/premiere-api';
import { createDaemonClient, type DaemonClientOptions } from './net/daemon-client';
import type { PanelPlatform } from './platform/platform';
import { PanelController } from './state/panel-controller';
import { mountPanel } from './ui/panel-view';

/** The daemon's default address; manifest.json permits exactly this loopback port. */
export const DEFAULT_DAEMON_URL = `http://127.0.0.1:${DAEMON_PORT}`;

export interface PanelEnvironment {
  ppro: PremiereApi;
  platform: PanelPlatform;
  createSocket: DaemonClientOptions['createSocket'];
  fetch: DaemonClientOptions['fetch'];
  baseUrl: string;
  root: HTMLElement;
}

/** Builds and starts the panel in `root`. */
export async function startPanel(env: PanelEnvironment): Promise<PanelController> {
  const client = createDaemonClient({ baseUrl: env.baseUrl, createSocket: env.createSocket, fetch: env.fetch, clientName: 'Longshot Premiere panel' });
  const controller = new PanelController({ client, host: createTimelineHost(env.ppro), platform: env.platform, now: () => new Date() });
  mountPanel(env.root, controller);
  await controller.start();
  return controller;
}
