// The whole `ovs-appctl ofproto/trace` reply, compared line for line with what Open vSwitch 3.1
// printed for the same bridge, flows and flow (userspace datapath, dummy ports p1..p4 with
// ofport_request=N, started by ../shared/tools/ovs-oracle.sh; before each case `ovs-ofctl
// del-flows br0`, `ovs-appctl fdb/flush br0`, `ovs-vsctl clear Port pN tag trunks vlan_mode`,
// then the commands listed with the case). The recirculation id in a controller action is a
// process-wide counter in vswitchd, so it is compared as "recirc_id=N".
import { describe, expect, it } from "vitest";
import {
  formatTrace,
  formatTraceCommand,
  formatTraceTree,
  parseTraceFlow,
  TraceError,
} from "../../src/ofproto/trace.ts";
import { translate } from "../../src/ofproto/xlate.ts";
import { addFlows, makeBridge, vlanSpecs } from "./bridge-fixture.ts";

interface TraceCase {
  name: string;
  vlan?: Record<string, string>;
  flows: string[];
  of13?: boolean;
  learn?: string[];
  flow: string;
  text: string;
}

const CASES: TraceCase[] = [
  {
    name: "output to a port",
    // ovs-ofctl add-flow br0 'in_port=1,actions=output:2'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["in_port=1,actions=output:2"],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. in_port=1, priority 32768
    output:2

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no
Datapath actions: 2
`,
  },
  {
    name: "resubmit chain across tables",
    // ovs-ofctl add-flow br0 'in_port=1,actions=resubmit(,1)'
    // ovs-ofctl add-flow br0 'table=1,ip,nw_dst=10.0.0.2,actions=resubmit(,2)'
    // ovs-ofctl add-flow br0 'table=2,tcp,tp_dst=80,actions=output:3'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: [
      "in_port=1,actions=resubmit(,1)",
      "table=1,ip,nw_dst=10.0.0.2,actions=resubmit(,2)",
      "table=2,tcp,tp_dst=80,actions=output:3",
    ],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. in_port=1, priority 32768
    resubmit(,1)
 1. ip,nw_dst=10.0.0.2, priority 32768
    resubmit(,2)
 2. tcp,tp_dst=80, priority 32768
    output:3

Final flow: unchanged
Megaflow: recirc_id=0,eth,tcp,in_port=1,nw_dst=10.0.0.2,nw_frag=no,tp_dst=80
Datapath actions: 3
`,
  },
  {
    name: "resubmit to an empty table continues",
    // ovs-ofctl add-flow br0 'in_port=1,actions=resubmit(,1),output:2'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["in_port=1,actions=resubmit(,1),output:2"],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. in_port=1, priority 32768
    resubmit(,1)
     1. No match.
            drop
    output:2

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no
Datapath actions: 2
`,
  },
  {
    name: "goto_table",
    // ovs-ofctl -O OpenFlow13 add-flow br0 'table=0,in_port=1,actions=goto_table:1'
    // ovs-ofctl -O OpenFlow13 add-flow br0 'table=1,ip,actions=output:2'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["table=0,in_port=1,actions=goto_table:1", "table=1,ip,actions=output:2"],
    of13: true,
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. in_port=1, priority 32768
    goto_table:1
 1. ip, priority 32768
    output:2

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no
Datapath actions: 2
`,
  },
  {
    name: "output to the input port is dropped",
    // ovs-ofctl add-flow br0 'in_port=1,actions=output:1'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["in_port=1,actions=output:1"],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. in_port=1, priority 32768
    output:1
     >> skipping output to input port

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no
Datapath actions: drop
`,
  },
  {
    name: "mod_vlan_vid pushes a tag",
    // ovs-ofctl add-flow br0 'in_port=1,actions=mod_vlan_vid:100,output:2'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["in_port=1,actions=mod_vlan_vid:100,output:2"],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. in_port=1, priority 32768
    mod_vlan_vid:100
    output:2

Final flow: tcp,in_port=1,dl_vlan=100,dl_vlan_pcp=0,vlan_tci1=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0
Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no
Datapath actions: push_vlan(vid=100,pcp=0),2
`,
  },
  {
    name: "strip_vlan",
    // ovs-ofctl add-flow br0 'in_port=1,dl_vlan=100,actions=strip_vlan,output:2'
    // ovs-appctl ofproto/trace br0 'in_port=1,dl_vlan=100,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["in_port=1,dl_vlan=100,actions=strip_vlan,output:2"],
    flow: "in_port=1,dl_vlan=100,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,dl_vlan=100,dl_vlan_pcp=0,vlan_tci1=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. in_port=1,dl_vlan=100, priority 32768
    strip_vlan
    output:2

Final flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0
Megaflow: recirc_id=0,eth,ip,in_port=1,dl_vlan=100,dl_vlan_pcp=0,nw_frag=no
Datapath actions: pop_vlan,2
`,
  },
  {
    name: "set_field eth_dst",
    // ovs-ofctl add-flow br0 'in_port=1,actions=set_field:00:00:00:00:00:99->eth_dst,output:2'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["in_port=1,actions=set_field:00:00:00:00:00:99->eth_dst,output:2"],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. in_port=1, priority 32768
    mod_dl_dst:00:00:00:00:00:99
    output:2

Final flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=00:00:00:00:00:99,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0
Megaflow: recirc_id=0,eth,ip,in_port=1,dl_dst=50:54:00:00:00:02,nw_frag=no
Datapath actions: set(eth(dst=00:00:00:00:00:99)),2
`,
  },
  {
    name: "dec_ttl at ttl 1",
    // ovs-ofctl add-flow br0 'in_port=1,ip,actions=dec_ttl,output:2'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=1,tp_src=1234,tp_dst=80'
    flows: ["in_port=1,ip,actions=dec_ttl,output:2"],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=1,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=1,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. ip,in_port=1, priority 32768
    dec_ttl
     >> IPv4 decrement TTL exception

Final flow: unchanged
Megaflow: recirc_id=0,eth,tcp,in_port=1,nw_ttl=1,nw_frag=no
Datapath actions: userspace(pid=0,controller(reason=2,dont_send=1,continuation=0,recirc_id=1,rule_cookie=0,controller_id=0,max_len=65535))
`,
  },
  {
    name: "registers and load are not in the megaflow",
    // ovs-ofctl add-flow br0 'in_port=1,actions=load:0x5->NXM_NX_REG0[],resubmit(,1)'
    // ovs-ofctl add-flow br0 'table=1,reg0=5,actions=output:2'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["in_port=1,actions=load:0x5->NXM_NX_REG0[],resubmit(,1)", "table=1,reg0=5,actions=output:2"],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. in_port=1, priority 32768
    load:0x5->NXM_NX_REG0[]
    resubmit(,1)
 1. reg0=0x5, priority 32768
    output:2

Final flow: tcp,reg0=0x5,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0
Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no
Datapath actions: 2
`,
  },
  {
    name: "move",
    // ovs-ofctl add-flow br0 'in_port=1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],output:2'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["in_port=1,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],output:2"],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. in_port=1, priority 32768
    move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[]
     -> NXM_OF_ETH_DST[] is now 50:54:00:00:00:01
    output:2

Final flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:01,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0
Megaflow: recirc_id=0,eth,ip,in_port=1,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_frag=no
Datapath actions: set(eth(dst=50:54:00:00:00:01)),2
`,
  },
  {
    name: "IPv6",
    // ovs-ofctl add-flow br0 'ipv6,ipv6_dst=2001:db8::2,actions=output:3'
    // ovs-ofctl add-flow br0 'priority=0,actions=drop'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp6,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["ipv6,ipv6_dst=2001:db8::2,actions=output:3", "priority=0,actions=drop"],
    flow: "in_port=1,tcp6,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp6,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,ipv6_src=2001:db8::1,ipv6_dst=2001:db8::2,ipv6_label=0x00000,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. ipv6,ipv6_dst=2001:db8::2, priority 32768
    output:3

Final flow: unchanged
Megaflow: recirc_id=0,eth,ipv6,in_port=1,ipv6_dst=2001:db8::2,nw_frag=no
Datapath actions: 3
`,
  },
  {
    name: "ARP",
    // ovs-ofctl add-flow br0 'arp,arp_tpa=10.0.0.2,actions=output:2'
    // ovs-ofctl add-flow br0 'priority=0,actions=drop'
    // ovs-appctl ofproto/trace br0 'in_port=1,arp,dl_src=50:54:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1,arp_sha=50:54:00:00:00:01'
    flows: ["arp,arp_tpa=10.0.0.2,actions=output:2", "priority=0,actions=drop"],
    flow: "in_port=1,arp,dl_src=50:54:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1,arp_sha=50:54:00:00:00:01",
    text: `Flow: arp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff,arp_spa=10.0.0.1,arp_tpa=10.0.0.2,arp_op=1,arp_sha=50:54:00:00:00:01,arp_tha=00:00:00:00:00:00

bridge("br0")
-------------
 0. arp,arp_tpa=10.0.0.2, priority 32768
    output:2

Final flow: unchanged
Megaflow: recirc_id=0,eth,arp,in_port=1,arp_tpa=10.0.0.2
Datapath actions: 2
`,
  },
  {
    name: "NORMAL unicasts after learning",
    // ovs-ofctl add-flow br0 'actions=NORMAL'
    // ovs-appctl ofproto/trace br0 'in_port=2,dl_src=50:54:00:00:00:02,dl_dst=50:54:00:00:00:01' -generate
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["actions=NORMAL"],
    learn: ["in_port=2,dl_src=50:54:00:00:00:02,dl_dst=50:54:00:00:00:01"],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. priority 32768
    NORMAL
     -> forwarding to learned port

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=1,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_frag=no
Datapath actions: 2
`,
  },
  {
    name: "NORMAL drops a tagged packet on an access port",
    // ovs-vsctl set Port p1 tag=10
    // ovs-vsctl set Port p2 tag=10
    // ovs-ofctl add-flow br0 'actions=NORMAL'
    // ovs-appctl ofproto/trace br0 'in_port=1,dl_vlan=20,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    vlan: { p1: "tag=10", p2: "tag=10" },
    flows: ["actions=NORMAL"],
    flow: "in_port=1,dl_vlan=20,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,dl_vlan=20,dl_vlan_pcp=0,vlan_tci1=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. priority 32768
    NORMAL
     >>>> dropping VLAN 20 tagged packet received on port p1 configured as VLAN 10 access port <<<<
     >> disallowed VLAN VID for this input port, dropping

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=1,dl_vlan=20,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_frag=no
Datapath actions: drop
`,
  },
  {
    name: "resubmit loop",
    // ovs-ofctl add-flow br0 'actions=resubmit(,0)'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["actions=resubmit(,0)"],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
 0. priority 32768
    resubmit(,0)
     >>>> over max translation depth 64 <<<<

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no
Datapath actions: drop
Translation failed (Recursion too deep), packet is dropped.
`,
  },
  {
    name: "table miss in table 0",
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: [],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. No match.
    drop

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no
Datapath actions: drop
`,
  },
  {
    name: "push_vlan and set_field vlan_vid",
    // ovs-ofctl -O OpenFlow13 add-flow br0 'in_port=1,actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:2'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["in_port=1,actions=push_vlan:0x8100,set_field:4196->vlan_vid,output:2"],
    of13: true,
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. in_port=1, priority 32768
    push_vlan:0x8100
    set_field:4196->vlan_vid
    output:2

Final flow: tcp,in_port=1,dl_vlan=100,dl_vlan_pcp=0,vlan_tci1=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0
Megaflow: recirc_id=0,eth,ip,in_port=1,nw_frag=no
Datapath actions: push_vlan(vid=100,pcp=0),2
`,
  },
  {
    name: "mod_nw_tos",
    // ovs-ofctl add-flow br0 'in_port=1,ip,actions=mod_nw_tos:16,output:2'
    // ovs-appctl ofproto/trace br0 'in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80'
    flows: ["in_port=1,ip,actions=mod_nw_tos:16,output:2"],
    flow: "in_port=1,tcp,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_ttl=64,tp_src=1234,tp_dst=80",
    text: `Flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0

bridge("br0")
-------------
 0. ip,in_port=1, priority 32768
    mod_nw_tos:16
    output:2

Final flow: tcp,in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=16,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1234,tp_dst=80,tcp_flags=0
Megaflow: recirc_id=0,eth,tcp,in_port=1,nw_tos=0,nw_frag=no
Datapath actions: set(ipv4(tos=0x10/0xfc)),2
`,
  },
];

const norm = (s: string): string => s.replace(/recirc_id=\d+/g, "recirc_id=N");

describe("ofproto/trace text against Open vSwitch 3.1", () => {
  it.each(CASES)("$name", (c) => {
    const br = makeBridge(4, vlanSpecs(c.vlan ?? {}));
    addFlows(br, c.flows);
    for (const l of c.learn ?? []) translate(br, parseTraceFlow(br, l), { nowMs: 0, sideEffects: true, trace: false });
    const key = parseTraceFlow(br, c.flow);
    const res = translate(br, key, { nowMs: 0, sideEffects: false, trace: true });
    expect(norm(formatTrace(key, res))).toBe(norm(c.text));
  });
});

describe("ofproto/trace command", () => {
  const host = () => {
    const br = makeBridge(4);
    addFlows(br, ["actions=drop"]);
    return { bridges: new Map([["br0", br]]), nowMs: 0 };
  };
  // OVS 3.1, with the single flow `actions=drop` on br0:
  //   ovs-appctl ofproto/trace ovs-dummy 'in_port(2),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2)'
  const ODP =
    "in_port(2),eth(src=50:54:00:00:00:01,dst=50:54:00:00:00:02),eth_type(0x0800),ipv4(src=10.0.0.1,dst=10.0.0.2,proto=6,tos=0,ttl=64,frag=no),tcp(src=1,dst=2)";
  it("takes a datapath flow, mapping its datapath in_port to the OpenFlow port", () => {
    expect(
      formatTraceCommand(host(), ["ovs-dummy", ODP]),
    ).toBe(`Flow: tcp,in_port=2,vlan_tci=0x0000,dl_src=50:54:00:00:00:01,dl_dst=50:54:00:00:00:02,nw_src=10.0.0.1,nw_dst=10.0.0.2,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=1,tp_dst=2,tcp_flags=0

bridge("br0")
-------------
 0. priority 32768
    drop

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=2,nw_frag=no
Datapath actions: drop
`);
  });
  //   ovs-appctl ofproto/trace br0 'in_port=p2,ip'
  it("takes port names in OpenFlow syntax", () => {
    expect(
      formatTraceCommand(host(), ["br0", "in_port=p2,ip"]),
    ).toBe(`Flow: ip,in_port=2,vlan_tci=0x0000,dl_src=00:00:00:00:00:00,dl_dst=00:00:00:00:00:00,nw_src=0.0.0.0,nw_dst=0.0.0.0,nw_proto=0,nw_tos=0,nw_ecn=0,nw_ttl=0,nw_frag=no

bridge("br0")
-------------
 0. priority 32768
    drop

Final flow: unchanged
Megaflow: recirc_id=0,eth,ip,in_port=2,nw_frag=no
Datapath actions: drop
`);
  });
  // Error replies of OVS 3.1 for: `ofproto/trace br9 in_port=1`, `ofproto/trace in_port=1`,
  // `ofproto/trace 'in_port(7),eth(…),…'` (no such datapath port).
  it.each([
    [["br9", "in_port=1"], "br9: unknown bridge"],
    [["in_port=1"], "syntax error at in_port=1 (or the bridge name was omitted)"],
    [[ODP.replace("in_port(2)", "in_port(7)")], "no OpenFlow port for datapath port 7"],
  ])("%j fails with OVS's message", (args, msg) => {
    expect(() => formatTraceCommand(host(), args)).toThrowError(new TraceError(msg));
  });
  //   ovs-appctl ofproto/trace br0 in_port=1,foo=2 → "Bad openflow flow syntax: in_port=1,foo=2: unknown field foo"
  it("reports a bad OpenFlow flow as OVS does", () => {
    expect(() => formatTraceCommand(host(), ["br0", "in_port=1,foo=2"])).toThrowError(
      new TraceError("Bad openflow flow syntax: in_port=1,foo=2: unknown field foo"),
    );
  });
  it("learns only with -generate", () => {
    const h = host();
    const br = h.bridges.get("br0")!;
    br.tables.remove(0, [...br.tables.tables[0]!.rules.keys()][0]!);
    addFlows(br, ["actions=NORMAL"]);
    formatTraceCommand(h, ["br0", "in_port=2,dl_src=50:54:00:00:00:02"]);
    expect(br.mac.size).toBe(0);
    formatTraceCommand(h, ["br0", "in_port=2,dl_src=50:54:00:00:00:02", "-generate"]);
    expect(br.mac.lookup("50:54:00:00:00:02", 0, 0)).toBe(2);
  });
});

describe("trace tree layout (oftrace_node_print_details)", () => {
  // A resubmit that is not its rule's last action indents the table it visits, as in OVS 3.1's
  // "resubmit to an empty table continues" trace above; details and warnings print as " -> " and " >> ".
  it("indents by level and by whether a node has a later sibling", () => {
    const leaf = (kind: "action" | "detail" | "warn", text: string) => ({ kind, text, subs: [] });
    const t1 = { kind: "table" as const, text: " 1. No match.", subs: [leaf("action", "drop")] };
    const t0 = {
      kind: "table" as const,
      text: " 0. priority 1",
      subs: [leaf("action", "resubmit(,1)"), t1, leaf("detail", "d"), leaf("warn", "w")],
    };
    expect(formatTraceTree([t0])).toBe(
      " 0. priority 1\n    resubmit(,1)\n     1. No match.\n            drop\n     -> d\n     >> w\n",
    );
  });
});
