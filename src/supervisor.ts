// The design card's entry: `node dist/supervisor.js --partitions 0-7`. The supervisor itself is
// src/supervisor/supervise.ts; src/main.cts is the same supervisor behind a CommonJS entry.
import './supervisor/supervise.js';
