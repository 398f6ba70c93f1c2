// Hearth's engine worker (import maps do not reach workers, so the package is imported by path).
import { serveWorker } from '/hearth/worker.js';
serveWorker();
