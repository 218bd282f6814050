import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { KeepAlive, type PingableSocket } from '../../src/server/keep-alive.ts';

// The shared keep-alive timer: a ping per period, termination of a socket that left the last one unanswered.

const PERIOD_MS = 1_600;

class FakeSocket implements PingableSocket {
  readyState = 1;
  pings = 0;
  terminated = false;
  #pong: ((this: PingableSocket) => void) | undefined;
  ping(): void {
    this.pings++;
  }
  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }
  on(_event: 'pong', listener: (this: PingableSocket) => void): this {
    this.#pong = listener;
    return this;
  }
  off(): this {
    this.#pong = undefined;
    return this;
  }
  pong(): void {
    this.#pong?.call(this);
  }
}

describe('KeepAlive', () => {
  let keepAlive: KeepAlive;
  beforeEach(() => {
    jest.useFakeTimers();
    keepAlive = new KeepAlive(PERIOD_MS);
  });
  afterEach(() => {
    keepAlive.stop();
    jest.useRealTimers();
  });

  it('pings once a period, the first within a period of joining', () => {
    const socket = new FakeSocket();
    jest.advanceTimersByTime(PERIOD_MS / 4 + 30);
    keepAlive.add(socket);
    jest.advanceTimersByTime(PERIOD_MS - 30 - 1);
    expect(socket.pings).toBe(0);
    jest.advanceTimersByTime(1);
    expect(socket.pings).toBe(1);
    socket.pong();
    jest.advanceTimersByTime(PERIOD_MS);
    expect(socket.pings).toBe(2);
    expect(socket.terminated).toBe(false);
  });

  it('terminates a socket that did not answer by the next ping', () => {
    const answering = new FakeSocket();
    const silent = new FakeSocket();
    keepAlive.add(answering);
    keepAlive.add(silent);
    jest.advanceTimersByTime(PERIOD_MS);
    answering.pong();
    jest.advanceTimersByTime(PERIOD_MS);
    expect(silent.terminated).toBe(true);
    expect(answering.terminated).toBe(false);
    expect(answering.pings).toBe(2);
  });

  it('forgets a removed socket', () => {
    const socket = new FakeSocket();
    keepAlive.add(socket);
    keepAlive.remove(socket);
    jest.advanceTimersByTime(3 * PERIOD_MS);
    expect(socket.pings).toBe(0);
  });

  it('spreads sockets that join at different times over the period', () => {
    const early = new FakeSocket();
    const late = new FakeSocket();
    keepAlive.add(early);
    jest.advanceTimersByTime(PERIOD_MS / 2);
    keepAlive.add(late);
    jest.advanceTimersByTime(PERIOD_MS / 2);
    expect([early.pings, late.pings]).toEqual([1, 0]);
    jest.advanceTimersByTime(PERIOD_MS / 2);
    expect([early.pings, late.pings]).toEqual([1, 1]);
  });
});
