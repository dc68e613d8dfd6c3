// The message protocol both workers speak. In: {id, op, args}; out: {id, result} |
// {id, error: {name, message}} | {id, progress: [done, total]}. Typed arrays in results are
// transferred, never copied twice.

/** The buffers of the whole-buffer typed arrays inside `value`. */
function transferables(value, out = []) {
  if (ArrayBuffer.isView(value)) {
    if (value.byteOffset === 0 && value.byteLength === value.buffer.byteLength) out.push(value.buffer);
  } else if (Array.isArray(value)) {
    for (const v of value) transferables(v, out);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) transferables(v, out);
  }
  return out;
}

/** Answers every message with `await run(id, op, args)`, or the error it threw. */
export function serve(run) {
  self.onmessage = async (event) => {
    const { id, op, args } = event.data;
    try {
      const result = await run(id, op, args ?? []);
      postMessage({ id, result }, transferables(result));
    } catch (e) {
      const error = e instanceof Error
        ? { name: e.name, message: e.message }
        : { name: 'Error', message: String(e) };
      postMessage({ id, error });
    }
  };
}
