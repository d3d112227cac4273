// `offload-emu decode FILE [--json]`: every packet of a pcap or pcapng file, one line each in the
// manner of `tcpdump -nn -e`, or one JSON object each whose keys are Wireshark's field names (so
// the output compares directly with `tshark -T fields`). A malformed packet is printed with its
// error and decoding goes on; a malformed file prints every packet before the fault, then the
// fault with its file offset, and exits 1.
import { parseArgs } from "node:util";
import { readCaptureFile } from "../io/capture.ts";
import { formatTsEpoch } from "../io/common.ts";
import { decodeFrame } from "../wire/decode.ts";
import { summarize } from "../wire/summary.ts";

const HELP = `usage: offload-emu decode FILE [--json]

Prints each packet of a pcap or pcapng FILE.
  (default)  one line per packet, like tcpdump -nn -e, tunnels followed into the inner frame
  --json     one JSON object per line; keys are Wireshark field names (frame.number, eth.src,
             ip.src, udp.dstport, vxlan.vni, …). A field that occurs more than once (the outer and
             inner headers of a tunnel) is a list, outermost first, as tshark prints it; vlan.id
             is always a list. A malformed packet has "error": "layer: code at byte N".
Exit status: 0 when the whole file was read, 1 when it is malformed (after printing every packet
before the fault), 2 for bad arguments.`;

/** Fields that are lists even when they occur once, as the issue's JSON form asks. */
const ALWAYS_LIST = new Set(["vlan.id"]);

function timeOfDay(ts: bigint | null): string {
  if (ts === null) return "--:--:--.------";
  const us = ts / 1000n;
  const d = new Date(Number(us / 1000n));
  const frac = String(us % 1_000_000n).padStart(6, "0");
  return `${d.toISOString().slice(11, 19)}.${frac}`;
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: { json: { type: "boolean" }, help: { type: "boolean", short: "h" } },
    });
  } catch (e) {
    console.error(`offload-emu decode: ${(e as Error).message}\n\n${HELP}`);
    return 2;
  }
  if (parsed.values.help) {
    console.log(HELP);
    return 0;
  }
  const [file, ...extra] = parsed.positionals;
  if (!file || extra.length) {
    console.error(`offload-emu decode: expected one FILE\n\n${HELP}`);
    return 2;
  }

  let read;
  try {
    read = readCaptureFile(file);
  } catch (e) {
    console.error(`offload-emu decode: ${file}: ${(e as Error).message}`);
    return 1;
  }
  const out: string[] = [];
  const flush = () => {
    if (out.length) {
      process.stdout.write(out.join("\n") + "\n");
      out.length = 0;
    }
  };
  read.packets.forEach((p, i) => {
    const d = decodeFrame(p.data, p.linkType, p.origLen);
    if (parsed.values.json) {
      const obj: Record<string, unknown> = {
        "frame.number": i + 1,
        "frame.len": p.origLen,
        "frame.cap_len": p.caplen,
        ...(p.ts !== null ? { "frame.time_epoch": formatTsEpoch(p.ts) } : {}),
        "frame.protocols": d.protocols.join(":"),
      };
      if (p.comment !== undefined) obj["frame.comment"] = p.comment;
      for (const [k, v] of d.fields) obj[k] = v.length > 1 || ALWAYS_LIST.has(k) ? v : v[0];
      if (d.error) obj["error"] = d.error.message;
      out.push(JSON.stringify(obj));
    } else {
      out.push(`${timeOfDay(p.ts)} ${summarize(d)}${p.comment !== undefined ? `  # ${p.comment}` : ""}`);
    }
    if (out.length >= 1024) flush();
  });
  flush();
  if (read.error) {
    console.error(`offload-emu decode: ${file}: ${read.error.message} (after ${read.packets.length} packets)`);
    return 1;
  }
  return 0;
}
