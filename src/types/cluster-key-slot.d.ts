declare module 'cluster-key-slot' {
  /** The Redis Cluster slot (0–16383) of a key, hash tags honoured. */
  export default function calculateSlot(key: string | Buffer): number;
  /** The slot shared by every key, or -1 when they span slots. */
  export function generateMulti(keys: readonly (string | Buffer)[]): number;
}
