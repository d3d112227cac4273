// A descriptor ring: a fixed circle of pool slot numbers between two stages (a port's receive
// queue and the eSwitch that polls it, the eSwitch and a port's transmit side).
//
// It is DPDK's rte_ring reduced to one producer and one consumer in one thread: an Int32Array of
// power-of-two capacity with a head (next to pop) and a tail (next to push) that only ever count
// up, so the fill level is tail - head and a slot's place is the counter ANDed with capacity - 1.
// The counters are int32 and may wrap; the subtraction and the AND are both exact across the
// wrap, so a ring that carried 2^32 packets behaves as a new one.
//
// Only tests use the rings today: the engine hands slots to the eSwitch by call. They wait for
// multi-queue ports (PMD threads on RSS queues), where a port's queue
// and its poller are different threads.
//
// Memory never grows. A push onto a full ring fails and is counted in `drops` (a NIC's
// rx_missed / tx_dropped); the ring does not own the slot, so the caller must release it back to
// the pool, or it leaks. Nothing here allocates.

export class Ring {
  readonly capacity: number;
  private readonly slots: Int32Array;
  private readonly mask: number;
  private head = 0; // next to pop
  private tail = 0; // next to push
  /** Pushes refused because the ring was full (the caller released those slots). */
  drops = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1 || (capacity & (capacity - 1)) !== 0 || capacity > 2 ** 30) {
      throw new RangeError(`ring capacity must be a power of two, got ${capacity}`);
    }
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.slots = new Int32Array(capacity);
  }

  /** Slots waiting to be popped. */
  get size(): number {
    return (this.tail - this.head) | 0;
  }
  /** Room left for pushes. */
  get free(): number {
    return this.capacity - ((this.tail - this.head) | 0);
  }

  /** Queues `slot`; false (and counted in drops) when full: the caller then releases the slot. */
  push(slot: number): boolean {
    const t = this.tail;
    if (((t - this.head) | 0) === this.capacity) {
      this.drops++;
      return false;
    }
    this.slots[t & this.mask] = slot;
    this.tail = (t + 1) | 0;
    return true;
  }

  /** The oldest queued slot, or -1 when the ring is empty. */
  pop(): number {
    const h = this.head;
    if (h === this.tail) return -1;
    this.head = (h + 1) | 0;
    return this.slots[h & this.mask] as number;
  }

  /**
   * Queues src[0 .. n) in order until the ring is full; returns how many went in. The rest,
   * src[returned .. n), are counted in drops and are the caller's to release.
   */
  pushBurst(src: Int32Array, n: number): number {
    const room = this.capacity - ((this.tail - this.head) | 0);
    const k = n < room ? n : room;
    let t = this.tail;
    for (let i = 0; i < k; i++) {
      this.slots[t & this.mask] = src[i] as number;
      t = (t + 1) | 0;
    }
    this.tail = t;
    this.drops += n - k;
    return k;
  }

  /** Moves up to `max` queued slots, oldest first, into dst[0 ..]; returns how many. */
  popBurst(dst: Int32Array, max: number): number {
    const have = (this.tail - this.head) | 0;
    let k = max < have ? max : have;
    if (k > dst.length) k = dst.length;
    let h = this.head;
    for (let i = 0; i < k; i++) {
      dst[i] = this.slots[h & this.mask] as number;
      h = (h + 1) | 0;
    }
    this.head = h;
    return k;
  }
}
