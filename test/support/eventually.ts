/**
 * Polls `read` until `done` holds, or 20 s have passed, and answers the last value read: the test
 * then asserts on it, so a side effect that never comes fails with its own message. A generous bound,
 * no timing assertion beyond "it arrives" (deliveries go through the job queue).
 */
export async function eventually<T>(
  read: () => Promise<T> | T,
  done: (value: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) {
      return value;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
