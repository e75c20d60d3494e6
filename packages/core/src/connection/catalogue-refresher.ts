import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { ResolvedMonitoring } from "../config/monitoring.js";
import { clampDelay } from "./clamp-delay.js";

/** Notifications of a changed list within this window cause one catalogue refresh. */
export const LIST_CHANGED_DEBOUNCE_MS = 100;

/** What a {@link CatalogueRefresher} needs from its connection. */
export interface CatalogueRefresherOptions {
  monitoring: ResolvedMonitoring;
  /** The client of the current connection; `undefined` while there is none. */
  currentClient(): Client | undefined;
  /** Fetches the catalogue on `client` and hands it to the store. */
  load(client: Client): Promise<void>;
  /** A background refresh failed (the catalogue stays as it was). */
  onError(error: unknown): void;
}

/**
 * Refreshes one connection's catalogue in the background: once shortly after the server says a list changed (however
 * many notifications arrive at once), and every `toolsUpdateHours`. A refresh for a client that is no longer the
 * current one is skipped.
 */
export class CatalogueRefresher {
  private refreshTimer: NodeJS.Timeout | undefined;
  private listChangedTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: CatalogueRefresherOptions) {}

  /** The server of `client` says a list changed: refresh within {@link LIST_CHANGED_DEBOUNCE_MS}. */
  refreshSoon(client: Client): void {
    clearTimeout(this.listChangedTimer);
    this.listChangedTimer = setTimeout(() => {
      if (this.options.currentClient() !== client) return;
      this.options.load(client).catch((error: unknown) => this.options.onError(error));
    }, LIST_CHANGED_DEBOUNCE_MS);
    this.listChangedTimer.unref();
  }

  /** Schedules the next periodic refresh, in `toolsUpdateHours`. */
  schedule(): void {
    clearTimeout(this.refreshTimer);
    this.refreshTimer = setTimeout(() => {
      const client = this.options.currentClient();
      if (!client) return;
      this.options
        .load(client)
        .catch((error: unknown) => this.options.onError(error))
        .finally(() => {
          if (this.options.currentClient() === client) this.schedule();
        });
    }, clampDelay(this.options.monitoring.toolsUpdateHours * 3_600_000));
    this.refreshTimer.unref();
  }

  /** Cancels both the periodic and the pending list-changed refresh. */
  stop(): void {
    clearTimeout(this.refreshTimer);
    clearTimeout(this.listChangedTimer);
  }
}
