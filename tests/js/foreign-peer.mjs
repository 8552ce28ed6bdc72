// A peer from another libp2p implementation (js-libp2p) with a valid key and
// no introductions: it connects to a trustmesh node, runs identify and ping,
// then tries the member-only protocols and listens for anything the node
// might open towards it. Prints one JSON line; tests/it/foreign.rs judges it.
//
// Usage: node foreign-peer.mjs /ip4/127.0.0.1/tcp/PORT/p2p/PEER [WAIT_MS]

import { createLibp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { multiaddr } from '@multiformats/multiaddr'

// js-libp2p 3 expects Node.js 22; Debian and this machine have 20, which
// lacks only this.
Promise.withResolvers ??= function () {
  let resolve, reject
  const promise = new Promise((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

const target = multiaddr(process.argv[2])
const waitMs = Number(process.argv[3] ?? 3000)
const report = { identify: null, ping_ms: null, attempts: {}, inbound_streams: [] }

const node = await createLibp2p({
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify(), ping: ping() }
})

// Anything the trustmesh node opens towards us on its own protocols would
// be a leak to a non-member.
const watched = ['/trustmesh/sync/2', '/trustmesh/join/1', '/meshsub/1.1.0', '/meshsub/1.0.0']
await node.handle(watched, (...args) => {
  const data = args[0]
  const stream = data?.stream ?? data
  report.inbound_streams.push(stream?.protocol ?? 'unknown')
  try { stream.abort(new Error('not expected')) } catch {}
})

const identified = new Promise((resolve) => {
  node.addEventListener('peer:identify', (evt) => {
    const d = evt.detail
    resolve({
      peer: d.peerId.toString(),
      agent: d.agentVersion,
      protocol_version: d.protocolVersion,
      protocols: [...d.protocols].sort()
    })
  })
})

try {
  await node.dial(target)
  report.identify = await Promise.race([
    identified,
    new Promise((resolve) => setTimeout(() => resolve(null), 10000))
  ])
  report.ping_ms = await node.services.ping.ping(target)
  for (const proto of ['/trustmesh/sync/2', '/meshsub/1.1.0', '/trustmesh/join/1']) {
    try {
      const stream = await node.dialProtocol(target, proto, { signal: AbortSignal.timeout(5000) })
      report.attempts[proto] = 'opened'
      try { await stream.close() } catch {}
    } catch (e) {
      report.attempts[proto] = `refused: ${e.name ?? 'Error'}`
    }
  }
  await new Promise((resolve) => setTimeout(resolve, waitMs))
  report.connected_at_end = node.getConnections().length > 0
} catch (e) {
  report.error = String(e?.stack ?? e)
}
console.log(JSON.stringify(report))
await node.stop()
process.exit(report.error ? 1 : 0)
