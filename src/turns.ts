let tail: Promise<void> = Promise.resolve();

/**
 * Resolves on a later turn of the event loop than every earlier caller's, one caller per turn.
 * For many waiters woken by one shared result: resumed together, their work (storing, rendering,
 * sending) runs back to back in one block, and a Discord interaction that arrives meanwhile
 * waits for all of it before it is acknowledged. Taking turns lets the event loop read the
 * sockets between them.
 */
export function nextTurn(): Promise<void> {
  // setImmediate from within the previous turn's callback runs only after the loop has polled
  // for I/O again: that poll is the point.
  const turn = tail.then(() => new Promise<void>((resolve) => setImmediate(resolve)));
  tail = turn;
  return turn;
}
