import type { StoreEventRecord } from "./store-events.js";

/** The last `capacity` events, in a ring, for clients that reconnect and resume from a `seq`. */
export class EventLog {
  private readonly ring: Array<StoreEventRecord | undefined>;
  private next = 0;
  private count = 0;

  constructor(capacity: number) {
    this.ring = new Array<StoreEventRecord | undefined>(Math.max(1, capacity));
  }

  /** The `seq` of the newest event dropped to make room (0 while none was). */
  droppedSeq = 0;

  push(record: StoreEventRecord): void {
    const dropped = this.ring[this.next];
    if (dropped && this.count === this.ring.length) this.droppedSeq = dropped.event.seq;
    this.ring[this.next] = record;
    this.next = (this.next + 1) % this.ring.length;
    this.count = Math.min(this.count + 1, this.ring.length);
  }

  /** The events kept with a `seq` above `since`, oldest first. */
  after(since: number): StoreEventRecord[] {
    const found: StoreEventRecord[] = [];
    for (let index = 0; index < this.count; index++) {
      const record = this.ring[(this.next - this.count + index + this.ring.length) % this.ring.length]!;
      if (record.event.seq > since) found.push(record);
    }
    return found;
  }
}
