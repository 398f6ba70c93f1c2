// The engine's side: the model runs here, off the page's main thread.
import { serveWorker } from 'hearth-llm/worker';

serveWorker();
