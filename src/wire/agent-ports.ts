// The agent's three UDP ports (PROTOCOL.md): everything about a module goes to one of them,
// and that port's balancer alone owns the module's state.

export const AGENT_PORT_COUNT = 3;

/**
 * Which port above the base serves module (modid, cmdid): (modid + cmdid) % 3 over the int32s
 * the wire carries, summed without overflow (as native/agent does) and never negative.
 */
export function agentPortIndex(modid: number, cmdid: number): number {
  return ((((modid | 0) + (cmdid | 0)) % AGENT_PORT_COUNT) + AGENT_PORT_COUNT) % AGENT_PORT_COUNT;
}
