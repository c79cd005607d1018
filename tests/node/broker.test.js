'use strict';
// socket.io scaled out through a Redis-compatible broker (corekv or redis-server).
//
// The architecture under test: several socket.io servers, each holding its own WebSocket
// clients, relay events to each other through the broker's pub/sub with
// @socket.io/redis-adapter. Two servers (A and B) run in this process on free loopback ports;
// each has an ioredis publisher and an ioredis subscriber connected to the broker at
// 127.0.0.1:$REDIS_PORT. A client on B makes server B emit to a room whose only member is a
// client on A: the event reaches A only if the broker carried it.
//
// Matrix: the classic adapter (PUBLISH, PSUBSCRIBE, SUBSCRIBE, PUBSUB NUMSUB) and the sharded
// adapter (SPUBLISH, SSUBSCRIBE, SUNSUBSCRIBE, PUBSUB SHARDNUMSUB), each with ioredis speaking
// RESP2 and RESP3 (pub/sub messages as push frames).
//
// Every wait is bounded (STEP_TIMEOUT_MS); every server, client and connection is closed in
// `after`, so node exits by itself.

const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const http = require('node:http');
const { once } = require('node:events');
const { setTimeout: sleep } = require('node:timers/promises');
const { Server } = require('socket.io');
const { io: connectClient } = require('socket.io-client');
const { Redis } = require('ioredis');
const { createAdapter, createShardedAdapter } = require('@socket.io/redis-adapter');

const BROKER_HOST = '127.0.0.1';
const BROKER_PORT = Number(process.env.REDIS_PORT || 6379);
/** Longest any single step (a connect, an event, a poll) may take. */
const STEP_TIMEOUT_MS = 5000;
/** Longest one whole `it` may take; the runner fails it after this. */
const TEST_TIMEOUT_MS = 20000;
/** How often `waitFor` polls the broker. */
const POLL_INTERVAL_MS = 20;

/** Rejects with `what` in the message if `promise` has not settled within `ms`. */
function withTimeout(promise, what, ms = STEP_TIMEOUT_MS) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Polls `probe` until `accept(value)` holds; fails with the last value (or error) seen, so a
 * broker that answers wrongly says what it answered.
 */
async function waitFor(what, probe, accept) {
  const deadline = Date.now() + STEP_TIMEOUT_MS;
  let last;
  for (;;) {
    try {
      last = await probe();
      if (accept(last)) return last;
    } catch (err) {
      // A refused command (unknown command, wrong arguments) will not change its mind: fail
      // now with the broker's own words.
      if (err && err.name === 'ReplyError') throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const shown = last instanceof Error ? `error: ${last.message}` : JSON.stringify(last);
      throw new Error(`timed out after ${STEP_TIMEOUT_MS} ms waiting for ${what}; last: ${shown}`);
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

function brokerClient(protocol, name) {
  const client = new Redis({
    host: BROKER_HOST,
    port: BROKER_PORT,
    protocol,
    connectionName: name,
    // A test must fail, not retry forever, when the broker is gone or refuses a command.
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: STEP_TIMEOUT_MS,
  });
  // Errors surface through the commands' promises and the `ready` wait; without a listener
  // ioredis would print them as unhandled.
  client.on('error', () => {});
  return client;
}

async function closeBrokerClient(client) {
  try {
    await withTimeout(client.quit(), 'QUIT', 1000);
  } catch {
    client.disconnect();
  }
}

/** `HELLO` with no arguments: which protocol the connection really speaks. */
async function negotiatedProtocol(client) {
  const reply = await client.call('HELLO');
  const fields = Array.isArray(reply) ? reply : Object.entries(reply).flat();
  const index = fields.findIndex((field) => String(field) === 'proto');
  return index === -1 ? undefined : Number(fields[index + 1]);
}

/** Sums a `PUBSUB NUMSUB|SHARDNUMSUB channel` reply (RESP2 array or RESP3 map). */
async function subscriberCount(admin, subcommand, channel) {
  const reply = await admin.call('PUBSUB', subcommand, channel);
  const fields = Array.isArray(reply) ? reply : Object.entries(reply).flat();
  assert.equal(fields.length, 2, `PUBSUB ${subcommand} ${channel} replied ${JSON.stringify(reply)}`);
  assert.equal(String(fields[0]), channel);
  return Number(fields[1]);
}

/** One socket.io server with its own broker connections, listening on a free loopback port. */
async function startNode(name, makeAdapter, protocol) {
  const pub = brokerClient(protocol, `${name}-pub`);
  const sub = brokerClient(protocol, `${name}-sub`);
  await withTimeout(Promise.all([once(pub, 'ready'), once(sub, 'ready')]), `${name} broker connect`);
  const httpServer = http.createServer();
  const io = new Server(httpServer, { adapter: makeAdapter(pub, sub), transports: ['websocket'] });
  io.on('connection', (socket) => {
    socket.on('join', (room, ack) => {
      socket.join(room);
      ack(name);
    });
    socket.on('to-room', ({ room, event, payload }, ack) => {
      io.to(room).emit(event, payload);
      ack(name);
    });
    socket.on('to-all', ({ event, payload }, ack) => {
      io.emit(event, payload);
      ack(name);
    });
  });
  // Reached by another server's io.serverSideEmit(), through the broker.
  io.on('server-ping', (arg, ack) => ack(`${name}:${arg}`));
  httpServer.listen(0, '127.0.0.1');
  await withTimeout(once(httpServer, 'listening'), `${name} listen`);
  const url = `http://127.0.0.1:${httpServer.address().port}`;
  return { name, io, pub, sub, url };
}

async function stopNode(node) {
  // io.close() closes the adapter (its UNSUBSCRIBEs go out on `sub`), every socket and the
  // HTTP server.
  await withTimeout(new Promise((resolve) => node.io.close(() => resolve())), `${node.name} close`).catch(() => {});
  await closeBrokerClient(node.pub);
  await closeBrokerClient(node.sub);
}

/** A WebSocket client of `node` that records every event it receives. */
async function connect(node) {
  const socket = connectClient(node.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    timeout: STEP_TIMEOUT_MS,
  });
  socket.received = [];
  socket.onAny((event, payload) => socket.received.push({ event, payload }));
  await withTimeout(once(socket, 'connect'), `client of ${node.name} connect`);
  return socket;
}

/** Resolves with the payload of the next `event` on `socket`. */
function nextEvent(socket, event) {
  return withTimeout(
    new Promise((resolve) => socket.once(event, resolve)),
    `'${event}' on a client`,
  );
}

function emitWithAck(socket, event, arg) {
  return withTimeout(socket.timeout(STEP_TIMEOUT_MS).emitWithAck(event, arg), `ack of '${event}'`);
}

// Each suite gets its own channel prefix (with the pid: two runs may share a broker), so that a
// suite never counts subscriptions it did not make (a server drops a closed connection's
// subscriptions only when it notices the close).
const ADAPTERS = [
  {
    label: 'classic adapter (PUBLISH/PSUBSCRIBE/NUMSUB)',
    short: 'classic',
    publish: 'PUBLISH',
    subscribe: 'SUBSCRIBE',
    make: (prefix) => (pub, sub) => createAdapter(pub, sub, { key: prefix }),
    // Each server SUBSCRIBEs to the request channel; the adapter counts servers with NUMSUB.
    readiness: (prefix) => ({ subcommand: 'NUMSUB', channel: `${prefix}-request#/#` }),
    // Room broadcasts go to `prefix#/#room#`, matched by each server's PSUBSCRIBE `prefix#/#*`.
    roomChannel: null,
  },
  {
    label: 'sharded adapter (SPUBLISH/SSUBSCRIBE/SHARDNUMSUB)',
    short: 'sharded',
    publish: 'SPUBLISH',
    subscribe: 'SSUBSCRIBE',
    make: (prefix) => (pub, sub) => createShardedAdapter(pub, sub, { channelPrefix: prefix }),
    readiness: (prefix) => ({ subcommand: 'SHARDNUMSUB', channel: `${prefix}#/#` }),
    // In the default `dynamic` mode a server SSUBSCRIBEs to a room's channel when the room is
    // created there, and a broadcast to one room is SPUBLISHed to that channel.
    roomChannel: (prefix, room) => `${prefix}#/#${room}#`,
  },
];

for (const adapter of ADAPTERS) {
  for (const protocol of [2, 3]) {
    describe(`${adapter.label}, RESP${protocol}`, () => {
      const prefix = `socket.io-${adapter.short}-resp${protocol}-${process.pid}`;
      let admin;
      let nodeA;
      let nodeB;
      const clients = [];

      before(async () => {
        admin = brokerClient(protocol, 'admin');
        await withTimeout(once(admin, 'ready'), `broker ${BROKER_HOST}:${BROKER_PORT} connect`);
        nodeA = await startNode('A', adapter.make(prefix), protocol);
        nodeB = await startNode('B', adapter.make(prefix), protocol);
      });

      after(async () => {
        for (const client of clients) client.disconnect();
        for (const node of [nodeA, nodeB]) if (node) await stopNode(node);
        if (admin) await closeBrokerClient(admin);
      });

      it(`every broker connection speaks RESP${protocol}`, { timeout: TEST_TIMEOUT_MS }, async () => {
        for (const client of [admin, nodeA.pub, nodeB.pub]) {
          assert.equal(await negotiatedProtocol(client), protocol);
        }
      });

      it(`the broker relays ${adapter.publish} to a ${adapter.subscribe}r`, { timeout: TEST_TIMEOUT_MS }, async () => {
        // The adapters' own subscriptions fail silently (no one awaits them): this says why.
        const subscriber = brokerClient(protocol, 'probe-sub');
        try {
          await withTimeout(once(subscriber, 'ready'), 'probe connect');
          const channel = `${prefix}-probe`;
          const event = adapter.subscribe === 'SSUBSCRIBE' ? 'smessageBuffer' : 'messageBuffer';
          const got = withTimeout(once(subscriber, event), `${adapter.subscribe} message`);
          // ioredis tracks subscriptions only through its own (lower-case) methods.
          await withTimeout(subscriber[adapter.subscribe.toLowerCase()](channel), adapter.subscribe);
          const receivers = await admin.call(adapter.publish, channel, Buffer.from('probe\r\n\0'));
          assert.equal(Number(receivers), 1, `${adapter.publish} replied ${receivers}`);
          const [gotChannel, payload] = await got;
          assert.equal(String(gotChannel), channel);
          assert.deepEqual(payload, Buffer.from('probe\r\n\0'));
        } finally {
          await closeBrokerClient(subscriber);
        }
      });

      it('both servers are subscribed, and each counts two servers', { timeout: TEST_TIMEOUT_MS }, async () => {
        const { subcommand, channel } = adapter.readiness(prefix);
        await waitFor(`PUBSUB ${subcommand} ${channel} == 2`, () => subscriberCount(admin, subcommand, channel), (n) => n === 2);
        assert.equal(await withTimeout(nodeA.io.of('/').adapter.serverCount(), 'serverCount A'), 2);
        assert.equal(await withTimeout(nodeB.io.of('/').adapter.serverCount(), 'serverCount B'), 2);
      });

      it('a room broadcast on B reaches the room member on A, and only it', { timeout: TEST_TIMEOUT_MS }, async () => {
        const member = await connect(nodeA);
        const bystanderA = await connect(nodeA);
        const sender = await connect(nodeB);
        clients.push(member, bystanderA, sender);
        assert.equal(await emitWithAck(member, 'join', 'room-1'), 'A');
        if (adapter.roomChannel) {
          const channel = adapter.roomChannel(prefix, 'room-1');
          await waitFor(`PUBSUB SHARDNUMSUB ${channel} == 1`, () => subscriberCount(admin, 'SHARDNUMSUB', channel), (n) => n === 1);
        }

        // Text, then binary (the adapters switch to msgpack for it): the broker must carry
        // arbitrary bytes.
        const text = { text: 'hello from B', n: 1 };
        const gotText = nextEvent(member, 'room-msg');
        assert.equal(await emitWithAck(sender, 'to-room', { room: 'room-1', event: 'room-msg', payload: text }), 'B');
        assert.deepEqual(await gotText, text);

        const bytes = Buffer.from([0, 1, 2, 0xff, 0x0d, 0x0a, 0x24, 0x2a]);
        const gotBinary = nextEvent(member, 'room-bin');
        await emitWithAck(sender, 'to-room', { room: 'room-1', event: 'room-bin', payload: bytes });
        assert.deepEqual(Buffer.from(await gotBinary), bytes);

        // A broadcast to all, sent after the room events, reaches the bystander on A: by then the
        // room events, had they been delivered to it, would have been too.
        const gotAll = nextEvent(bystanderA, 'fence');
        await emitWithAck(sender, 'to-all', { event: 'fence', payload: 1 });
        await gotAll;
        assert.deepEqual(bystanderA.received.map((r) => r.event), ['fence']);
        assert.deepEqual(sender.received.filter((r) => r.event !== 'fence'), []);
      });

      it('a broadcast to all from B reaches clients on both servers', { timeout: TEST_TIMEOUT_MS }, async () => {
        const onA = await connect(nodeA);
        const onB = await connect(nodeB);
        clients.push(onA, onB);
        const payloads = Array.from({ length: 20 }, (_, i) => ({ seq: i }));
        const seenA = [];
        const seenB = [];
        const allA = new Promise((resolve) => onA.on('all-msg', (p) => seenA.push(p) === payloads.length && resolve()));
        const allB = new Promise((resolve) => onB.on('all-msg', (p) => seenB.push(p) === payloads.length && resolve()));
        for (const payload of payloads) {
          await emitWithAck(onB, 'to-all', { event: 'all-msg', payload });
        }
        await withTimeout(Promise.all([allA, allB]), `${payloads.length} broadcasts on both servers`);
        // One publisher, one subscriber connection: the broker keeps the order.
        assert.deepEqual(seenA, payloads);
        assert.deepEqual(seenB, payloads);
      });

      it('serverSideEmit with an ack reaches the other server and returns its answer', { timeout: TEST_TIMEOUT_MS }, async () => {
        const fromA = await withTimeout(
          nodeA.io.serverSideEmitWithAck('server-ping', 'x'),
          'serverSideEmitWithAck from A',
          // Longer than the adapter's own 5 s request timeout, whose error says how many
          // servers answered.
          STEP_TIMEOUT_MS + 1000,
        );
        assert.deepEqual(fromA, ['B:x']);
        const fromB = await withTimeout(
          nodeB.io.serverSideEmitWithAck('server-ping', 'y'),
          'serverSideEmitWithAck from B',
          STEP_TIMEOUT_MS + 1000,
        );
        assert.deepEqual(fromB, ['A:y']);
      });

      it('fetchSockets on B finds a socket held by A, and a remote socketsJoin takes effect', { timeout: TEST_TIMEOUT_MS }, async () => {
        const onA = await connect(nodeA);
        clients.push(onA);
        assert.equal(await emitWithAck(onA, 'join', 'room-fetch'), 'A');
        const found = await withTimeout(nodeB.io.in('room-fetch').fetchSockets(), 'fetchSockets from B', STEP_TIMEOUT_MS + 1000);
        assert.deepEqual(found.map((s) => s.id), [onA.id]);
        assert.ok(found[0].rooms.has('room-fetch'));

        // B tells A (through the broker) to put that socket in another room.
        nodeB.io.in(onA.id).socketsJoin('room-joined-remotely');
        await waitFor(
          'the socket on A to join room-joined-remotely',
          async () => (await nodeA.io.in('room-joined-remotely').local.fetchSockets()).map((s) => s.id),
          (ids) => ids.length === 1 && ids[0] === onA.id,
        );
      });
    });
  }
}
