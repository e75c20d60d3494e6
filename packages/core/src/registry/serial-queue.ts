/**
 * Runs work one piece at a time, in the order it was given: the per-service executor of a {@link ServiceOwner}. A
 * piece that fails does not stop the next. {@link lockAll} takes several queues at once (in a fixed order, so two
 * callers that want the same queues cannot deadlock) for work that spans services, such as adding a batch.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();
  private pending = 0;

  /** Pieces queued or running. */
  get size(): number {
    return this.pending;
  }

  /** Resolves with a release function once every earlier piece is done; nothing else runs until it is called. */
  lock(): Promise<() => void> {
    this.pending++;
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = () => {
        this.pending--;
        resolve();
      };
    });
    const previous = this.tail;
    this.tail = released;
    let once = false;
    return previous.then(() => () => {
      if (once) return;
      once = true;
      release();
    });
  }

  /** Runs `work` after every earlier piece; resolves or rejects with its outcome. */
  async run<T>(work: () => Promise<T> | T): Promise<T> {
    const release = await this.lock();
    try {
      return await work();
    } finally {
      release();
    }
  }
}

/** Takes every queue (sorted by `key`, so concurrent callers take shared queues in one order); resolves with one release. */
export async function lockAll(queues: Array<{ key: string; queue: SerialQueue }>): Promise<() => void> {
  const sorted = [...new Map(queues.map((item) => [item.key, item])).values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const releases: Array<() => void> = [];
  for (const item of sorted) releases.push(await item.queue.lock());
  return () => {
    for (const release of releases.reverse()) release();
  };
}
