// The packet buffer pool: every packet in the emulator lives in one slot of one large buffer.
//
// Slots have a fixed size and start with headroom, so that encapsulation (push_vlan, tnl_push)
// prepends headers by moving the packet's start backwards instead of copying it, and
// decapsulation (pop_vlan, tnl_pop) just moves the start forwards. Rings between stages carry slot
// numbers, never bytes; per-packet metadata is struct-of-arrays in typed arrays indexed by slot,
// so handling a packet allocates nothing. This is the shape of DPDK's mempool/mbuf, which the
// SmartNIC designs we emulate sit on.
//
// Slots are reused without being cleared: writers (builders, actions) set every byte they claim.

/** Room in front of the frame: enough for an outer Ethernet + IPv6 + UDP + GENEVE with options. */
export const HEADROOM = 192;
/** Room for the frame itself: a 9000-byte jumbo frame with its VLAN tags, rounded up. */
export const DEFAULT_DATA_ROOM = 9216;

export class PacketPool {
  readonly buffer: ArrayBuffer;
  readonly bytes: Uint8Array;
  readonly dv: DataView;
  readonly slotSize: number;
  readonly capacity: number;
  /** Absolute offset in `bytes` of the frame's first byte, per slot. */
  readonly start: Int32Array;
  /** Captured length of the frame, per slot. */
  readonly len: Int32Array;
  /** Length on the wire when the frame was truncated on capture; equals len otherwise. */
  readonly origLen: Int32Array;
  /** Port the packet arrived on, per slot. */
  readonly inPort: Int32Array;
  /** RSS-style flow hash, per slot (0 = not computed). */
  readonly hash: Uint32Array;
  private readonly free: Int32Array;
  private nFree: number;
  /** Allocations refused because every slot was in use. */
  exhausted = 0;

  constructor(capacity: number, dataRoom = DEFAULT_DATA_ROOM) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`pool capacity must be a positive integer, got ${capacity}`);
    // Slots are 64-byte aligned so that no two slots share a cache line.
    this.slotSize = Math.ceil((HEADROOM + dataRoom) / 64) * 64;
    this.capacity = capacity;
    this.buffer = new ArrayBuffer(this.slotSize * capacity);
    this.bytes = new Uint8Array(this.buffer);
    this.dv = new DataView(this.buffer);
    this.start = new Int32Array(capacity);
    this.len = new Int32Array(capacity);
    this.origLen = new Int32Array(capacity);
    this.inPort = new Int32Array(capacity);
    this.hash = new Uint32Array(capacity);
    this.free = new Int32Array(capacity);
    for (let i = 0; i < capacity; i++) this.free[i] = capacity - 1 - i;
    this.nFree = capacity;
  }

  get available(): number {
    return this.nFree;
  }

  /** A free slot with its start at the headroom mark and length 0, or -1 when none is left. */
  alloc(): number {
    if (this.nFree === 0) {
      this.exhausted++;
      return -1;
    }
    const slot = this.free[--this.nFree] as number;
    this.start[slot] = slot * this.slotSize + HEADROOM;
    this.len[slot] = 0;
    this.origLen[slot] = 0;
    this.inPort[slot] = -1;
    this.hash[slot] = 0;
    return slot;
  }

  release(slot: number): void {
    this.free[this.nFree++] = slot;
  }

  /** First byte a packet in `slot` may grow backwards to. */
  slotBase(slot: number): number {
    return slot * this.slotSize;
  }
  /** One past the last byte a packet in `slot` may grow forwards to. */
  slotEnd(slot: number): number {
    return (slot + 1) * this.slotSize;
  }

  /** Copies `frame` into a new slot; -1 (and counted) when the pool is empty or it does not fit. */
  load(frame: Uint8Array, origLen = frame.length): number {
    if (frame.length > this.slotSize - HEADROOM) return -1;
    const slot = this.alloc();
    if (slot < 0) return -1;
    this.bytes.set(frame, this.start[slot] as number);
    this.len[slot] = frame.length;
    this.origLen[slot] = origLen;
    return slot;
  }

  /** The frame in `slot`; a view into the pool, valid until the slot is released or modified. */
  frame(slot: number): Uint8Array {
    const s = this.start[slot] as number;
    return this.bytes.subarray(s, s + (this.len[slot] as number));
  }

  /**
   * Makes room for `n` more bytes in front of the frame (encapsulation). Returns false when the
   * headroom is used up; the packet is then unchanged.
   */
  prepend(slot: number, n: number): boolean {
    const s = (this.start[slot] as number) - n;
    if (s < this.slotBase(slot)) return false;
    this.start[slot] = s;
    this.len[slot] = (this.len[slot] as number) + n;
    this.origLen[slot] = (this.origLen[slot] as number) + n;
    return true;
  }

  /** Drops `n` bytes from the front of the frame (decapsulation). */
  adj(slot: number, n: number): boolean {
    if (n > (this.len[slot] as number)) return false;
    this.start[slot] = (this.start[slot] as number) + n;
    this.len[slot] = (this.len[slot] as number) - n;
    this.origLen[slot] = (this.origLen[slot] as number) - n;
    return true;
  }

  /** A second slot holding the same frame: for a packet that really leaves twice. */
  clone(slot: number): number {
    const c = this.alloc();
    if (c < 0) return -1;
    const s = this.start[slot] as number;
    const n = this.len[slot] as number;
    this.bytes.copyWithin(this.start[c] as number, s, s + n);
    this.len[c] = n;
    this.origLen[c] = this.origLen[slot] as number;
    this.inPort[c] = this.inPort[slot] as number;
    this.hash[c] = this.hash[slot] as number;
    return c;
  }
}
