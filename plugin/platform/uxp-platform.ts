/** PanelPlatform on UXP: secureStorage for the token, localStorage for history, the plugin data folder for clips, navigator.clipboard. */
import { LongshotError } from '../../shared/errors';
import type { PanelPlatform } from './platform';

// The few members of the `uxp` module the panel uses (the @adobe/cc-ext-uxp-types declarations redeclare Node's
// "fs" and "os" modules, so they cannot join this repository's type-check; these follow the same documentation).
interface UxpFile {
  readonly nativePath: string;
  write(data: ArrayBuffer, options: { format: unknown }): Promise<number>;
}
interface UxpFolder {
  readonly nativePath: string;
  createFile(name: string, options: { overwrite: boolean }): Promise<UxpFile>;
}
/** The slice of `require('uxp')` the panel uses. */
export interface UxpModule {
  storage: {
    localFileSystem: { getDataFolder(): Promise<UxpFolder> };
    formats: { binary: unknown };
    secureStorage: {
      getItem(key: string): Promise<Uint8Array | null | undefined>;
      setItem(key: string, value: string): Promise<void>;
      removeItem(key: string): Promise<void>;
    };
  };
  shell: { openPath(path: string, developerText?: string): Promise<string> };
}

/** Loads the `uxp` module (only inside a UXP host; the build keeps it external). */
export function loadUxp(): UxpModule {
  return require('uxp') as UxpModule;
}

/** UXP's `navigator.clipboard` (its non-standard setContent; manifest permission `clipboard`). */
export interface UxpClipboard {
  setContent(data: { 'text/plain': string }): Promise<unknown>;
}

/** The UXP platform. `localStorage` is UXP's persistent one. */
export function createUxpPlatform(uxp: UxpModule, localStorage: PanelPlatform['store'], clipboard: UxpClipboard): PanelPlatform {
  const { secureStorage, localFileSystem, formats } = uxp.storage;
  return {
    secrets: {
      async get(key) {
        let value: Uint8Array | null | undefined;
        try {
          value = await secureStorage.getItem(key);
        } catch {
          // UXP rejects getItem for a key that was never set: that is "no token yet".
          return null;
        }
        // The token is ASCII (base64url); decoded by hand since UXP does not promise TextDecoder.
        return value && value.length ? String.fromCharCode(...value) : null;
      },
      set: (key, value) => secureStorage.setItem(key, value),
      remove: (key) => secureStorage.removeItem(key),
    },
    store: localStorage,
    clips: {
      async save(fileName, bytes) {
        const folder = await localFileSystem.getDataFolder();
        const file = await folder.createFile(fileName, { overwrite: true });
        await file.write(bytes.slice().buffer, { format: formats.binary });
        return file.nativePath;
      },
      async reveal(path) {
        const failure = await uxp.shell.openPath(path, 'Longshot opens the generated clip in your video player.');
        if (failure) throw new LongshotError('forbidden', `could not open ${path}: ${failure}`);
      },
    },
    clipboard: {
      async writeText(text) {
        await clipboard.setContent({ 'text/plain': text });
      },
    },
  };
}
