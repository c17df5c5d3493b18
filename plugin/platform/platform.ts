/**
 * What the panel needs from its runtime besides Premiere and the network: secret storage for the pairing token,
 * a small key-value store for job history, a place to write received clips, and the clipboard. UXP provides them in Premiere
 * (uxp-platform.ts); the Chromium test harness provides browser versions.
 */
export interface PanelPlatform {
  secrets: {
    get(key: string): Promise<string | null>;
    set(key: string, value: string): Promise<void>;
    remove(key: string): Promise<void>;
  };
  /** Survives panel reloads (history); small JSON strings only. */
  store: {
    getItem(key: string): string | null;
    setItem(key: string, value: string): void;
  };
  clips: {
    /** Writes a received clip and returns the native path Premiere imports. */
    save(fileName: string, bytes: Uint8Array): Promise<string>;
    /** Shows a saved clip to the user (opens it with the system's player). */
    reveal(path: string): Promise<void>;
  };
  /** The system clipboard (Copy seed). */
  clipboard: { writeText(text: string): Promise<void> };
}
