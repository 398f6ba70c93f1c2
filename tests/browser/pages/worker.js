// The worker file an app writes for CreateWorkerEngine (import maps do not reach workers,
// so the package is imported by path here).
import { serveWorker } from '/www/worker.js';
serveWorker();
