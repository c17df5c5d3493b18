/**
 * PanelPlatform for the Chromium test harness: localStorage for the token and history (a browser has no secure
 * storage), and clips kept in memory under made-up paths that the fake Premiere reads back.
 */
import type { PanelPlatform } from '../platform/platform';

export function createBrowserPlatform(storage: Storage, clips: Map<string, Uint8Array>, revealed: string[]): PanelPlatform {
  return {
    secrets: {
      get: async (key) => storage.getItem(`secret:${key}`),
      set: async (key, value) => storage.setItem(`secret:${key}`, value),
      remove: async (key) => storage.removeItem(`secret:${key}`),
    },
    store: storage,
    clips: {
      async save(fileName, bytes) {
        const path = `/browser-clips/${fileName}`;
        clips.set(path, bytes);
        return path;
      },
      async reveal(path) {
        revealed.push(path);
      },
    },
  };
}
