// Loaded first by every entry (an ES module evaluates its imports in order): an older Node is
// refused with one line before the binding built for Node 24 is loaded (src/core/node-runtime.cts).
import { refuseOlderNode } from './core/node-runtime.cjs';

refuseOlderNode();
