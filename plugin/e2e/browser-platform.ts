/**
 * PanelPlatform for the Chromium test harness: localStorage for the token and history (a browser has no secure
 * storage). Clips are PUT to the harness server, which writes them to disk and answers with the path, so the
 * daemon can read them as references (extend, fill) just as it reads clips the real panel writes; the bytes
 * are also kept for the fake Premiere to measure. Copied text is recorded for the test to read.
 */
import type { PanelPlatform } from '../platform/platform';

export function createBrowserPlatform(storage: Storage, clips: Map<string, Uint8Array>, revealed: string[], copied: string[]): PanelPlatform {
  return {
    secrets: {
      get: async (key) => storage.getItem(`secret:${key}`),
      set: async (key, value) => storage.setItem(`secret:${key}`, value),
      remove: async (key) => storage.removeItem(`secret:${key}`),
    },
    store: storage,
    clips: {
      async save(fileName, bytes) {
        const reply = await fetch(`/clips/${encodeURIComponent(fileName)}`, { method: 'PUT', body: bytes.slice() });
        if (!reply.ok) throw new Error(`the harness could not store ${fileName}: HTTP ${reply.status}`);
        const { path } = (await reply.json()) as { path: string };
        clips.set(path, bytes);
        return path;
      },
      async reveal(path) {
        revealed.push(path);
      },
    },
    clipboard: {
      async writeText(text) {
        copied.push(text);
      },
    },
  };
}
