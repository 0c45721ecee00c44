/**
 * Container logs for pods/log: lines the test writes (with their time, for `timestamps=true`),
 * and followers (`follow=true`) that get each new line until the container ends or the client
 * goes away. Query parameters as in the API reference (PodLogOptions): container, follow,
 * tailLines, timestamps, limitBytes.
 */

interface Line {
  time: string;
  text: string;
}

interface ContainerLog {
  lines: Line[];
  ended: boolean;
  followers: Set<(l: Line | null) => void>;
}

/** Lines kept per container (a kubelet rotates; this keeps memory bounded). */
const KEEP = 10_000;

export interface LogQuery {
  follow: boolean;
  tailLines?: number;
  timestamps: boolean;
  limitBytes?: number;
}

export class Logs {
  private readonly logs = new Map<string, ContainerLog>();

  private entry(ns: string, pod: string, container: string): ContainerLog {
    const k = `${ns}/${pod}/${container}`;
    let l = this.logs.get(k);
    if (!l) this.logs.set(k, (l = { lines: [], ended: false, followers: new Set() }));
    return l;
  }

  /** Appends text (split into lines) to a container's log. */
  write(ns: string, pod: string, container: string, text: string) {
    const l = this.entry(ns, pod, container);
    for (const part of text.split(/(?<=\n)/)) {
      if (!part) continue;
      const line = {
        time: new Date()
          .toISOString()
          .replace('Z', '000000Z')
          .replace(/(\.\d{9})\d*Z$/, '$1Z'),
        text: part,
      };
      l.lines.push(line);
      if (l.lines.length > KEEP) l.lines.shift();
      for (const f of l.followers) f(line);
    }
  }

  /** The container stopped: followers' streams end. */
  end(ns: string, pod: string, container: string) {
    const l = this.entry(ns, pod, container);
    l.ended = true;
    for (const f of l.followers) f(null);
    l.followers.clear();
  }

  /** How many `follow=true` streams are open on a container's log now. */
  followers(ns: string, pod: string, container: string): number {
    return this.logs.get(`${ns}/${pod}/${container}`)?.followers.size ?? 0;
  }

  /** Forgets a deleted pod's logs; followers end. */
  drop(ns: string, pod: string) {
    for (const [k, l] of this.logs)
      if (k.startsWith(`${ns}/${pod}/`)) {
        for (const f of l.followers) f(null);
        this.logs.delete(k);
      }
  }

  /**
   * Streams a container's log into `write`; resolves when done (not following, the container
   * ended, or `closed` fired). Returns a function to stop early.
   */
  stream(
    ns: string,
    pod: string,
    container: string,
    q: LogQuery,
    write: (s: string) => void,
    done: () => void,
  ): () => void {
    const l = this.entry(ns, pod, container);
    const fmt = (line: Line) => (q.timestamps ? `${line.time} ${line.text}` : line.text);
    let budget = q.limitBytes ?? Infinity;
    const emit = (s: string): boolean => {
      if (budget <= 0) return false;
      const b = Buffer.from(s);
      write(b.length > budget ? b.subarray(0, budget).toString() : s);
      budget -= b.length;
      return budget > 0;
    };
    const start = q.tailLines === undefined ? 0 : Math.max(0, l.lines.length - q.tailLines);
    for (const line of l.lines.slice(start)) if (!emit(fmt(line))) return (done(), () => {});
    if (!q.follow || l.ended) {
      done();
      return () => {};
    }
    const follower = (line: Line | null) => {
      if (line && emit(fmt(line))) return;
      l.followers.delete(follower);
      done();
    };
    l.followers.add(follower);
    return () => l.followers.delete(follower);
  }
}
