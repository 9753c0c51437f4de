// The librdkafka binding's native destructor can abort the process when the garbage collector
// frees a disconnected client (seen here: "RemoveEnvironmentCleanupHook ... Assertion failed:
// (env) != nullptr" from NodeKafka::Connection::~Connection during GC). Every client this project
// creates is therefore kept reachable until the thread or process ends. A disconnected client
// holds little memory, and clients are created only at start-up, on restarts and by tools.
const retained = new Set<object>();

export function retainHandle<T extends object>(handle: T): T {
  retained.add(handle);
  return handle;
}
